deprov_unit(test_event tests/unit/test_event.c src/event.c src/jsonc.c src/diag.c)
deprov_unit(test_laneheap tests/unit/test_laneheap.c src/laneheap.c)
deprov_unit(test_store tests/unit/test_store.c src/store.c src/store-audit.c src/store-summary.c src/store-copy.c src/store-tables.c src/store-pg.c src/store-replica.c src/case.c src/event.c src/jsonc.c src/diag.c src/log.c)
# store-tables.h (the tables as data) is internal to the store.
target_include_directories(test_store PRIVATE src)
target_link_libraries(test_store PRIVATE PkgConfig::PQ)
# The engine with a fake connector, against a real store and real targets.
deprov_unit(test_engine tests/unit/test_engine.c tests/unit/engine_fixture.c)
target_link_libraries(test_engine PRIVATE deprov_core)
deprov_unit(test_intake tests/unit/test_intake.c tests/unit/engine_fixture.c)
target_link_libraries(test_intake PRIVATE deprov_core)
