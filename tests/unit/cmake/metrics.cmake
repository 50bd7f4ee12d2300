# metrics: the Prometheus registry and its text exposition (counters, gauges,
# histograms, label escaping, sorted output), and the sla module's webhook
# payloads and deadline timers against a real engine, store and loop.
deprov_unit(test_metrics tests/unit/test_metrics.c)
target_link_libraries(test_metrics PRIVATE deprov_core)
