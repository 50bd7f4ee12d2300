# deprovctl: the option-spec parser on its own, and the command table and
# dispatcher (the real table's documentation; fake commands for dispatch).
deprov_unit(test_ctl_args tests/unit/test_ctl_args.c src/ctl/ctl-args.c)
target_include_directories(test_ctl_args PRIVATE src/ctl)
deprov_unit(test_ctl tests/unit/test_ctl.c)
target_link_libraries(test_ctl PRIVATE deprovctl_parts)
