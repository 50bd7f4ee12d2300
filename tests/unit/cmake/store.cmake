# store: one process owns a store (the lock beside the database).
deprov_unit(test_store_lock tests/unit/test_store_lock.c src/store.c src/log.c)
