# evidence: CSV fields and the formula guard, rows from a case's steps, the
# range's date rules, whole exports in windows against a real store.
deprov_unit(test_evidence tests/unit/test_evidence.c)
target_link_libraries(test_evidence PRIVATE deprov_core)
