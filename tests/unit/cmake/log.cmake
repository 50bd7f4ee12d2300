# log: the rate limiter for repeated messages and libevent's warnings through it.
deprov_unit(test_log tests/unit/test_log.c src/log.c)
