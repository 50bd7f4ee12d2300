# Intake from outside: ingest (Okta, CloudEvents, mappings, with a real
# engine behind it) and the crash-loop breaker's record.
deprov_unit(test_ingest tests/unit/test_ingest.c tests/unit/engine_fixture.c)
target_link_libraries(test_ingest PRIVATE deprov_core)
deprov_unit(test_crashguard tests/unit/test_crashguard.c src/crashguard.c src/log.c)
