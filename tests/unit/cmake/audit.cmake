# audit: the hash-chained audit trail against a real store (tamper detection,
# the hash definition against an independent OpenSSL computation, export).
deprov_unit(test_audit tests/unit/test_audit.c)
target_link_libraries(test_audit PRIVATE deprov_core)
