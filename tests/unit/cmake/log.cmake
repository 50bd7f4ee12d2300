# log: the registry of secret values and redaction.
deprov_unit(test_log tests/unit/test_log.c src/log.c)
