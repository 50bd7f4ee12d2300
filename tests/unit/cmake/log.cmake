# log: the rate limiter for repeated messages and libevent's warnings through
# it (test_log); the registry of secret values and redaction (test_log_secrets).
deprov_unit(test_log tests/unit/test_log.c src/log.c)
deprov_unit(test_log_secrets tests/unit/test_log_secrets.c src/log.c)
