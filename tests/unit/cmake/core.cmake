deprov_unit(test_event tests/unit/test_event.c src/event.c)
deprov_unit(test_store tests/unit/test_store.c src/store.c src/log.c)
