# deprovctl: the option-spec parser.
deprov_unit(test_ctl_args tests/unit/test_ctl_args.c src/ctl/ctl-args.c)
target_include_directories(test_ctl_args PRIVATE src/ctl)
