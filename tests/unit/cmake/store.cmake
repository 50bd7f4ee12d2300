# store: one process owns a store (the lock beside the database).
deprov_unit(test_store_lock tests/unit/test_store_lock.c src/store.c src/store-audit.c src/store-summary.c src/store-copy.c src/store-tables.c src/store-pg.c src/store-replica.c src/case.c src/event.c src/jsonc.c src/diag.c src/log.c)
target_link_libraries(test_store_lock PRIVATE PkgConfig::PQ)
