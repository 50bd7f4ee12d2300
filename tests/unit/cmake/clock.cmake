# clock and randid (deprov_base, which every unit test links).
deprov_unit(test_clock tests/unit/test_clock.c)
