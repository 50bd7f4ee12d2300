# The service manager's notifications (READY, STOPPING, WATCHDOG) received
# by a fake manager's socket.
deprov_unit(test_sdnotify tests/unit/test_sdnotify.c src/sdnotify.c src/log.c)
