# dashboard: /v1/summary's figures against a real store (counts, SLA verdicts,
# nearest-rank time-to-freeze percentiles, open-case bound, recent cases).
deprov_unit(test_dashboard tests/unit/test_dashboard.c)
target_link_libraries(test_dashboard PRIVATE deprov_core)
