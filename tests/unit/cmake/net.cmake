# Networking runtime: backoff and token bucket (pure), the curl-multi-on-
# libevent HTTP client and the per-target call runtime, both against an
# in-process evhttp server (tests/unit/net_server.c) on the same loop.
deprov_unit(test_backoff
  ${CMAKE_SOURCE_DIR}/tests/unit/test_backoff.c
  ${CMAKE_SOURCE_DIR}/src/backoff.c)
deprov_unit(test_ratelimit
  ${CMAKE_SOURCE_DIR}/tests/unit/test_ratelimit.c
  ${CMAKE_SOURCE_DIR}/src/ratelimit.c)
deprov_unit(test_http
  ${CMAKE_SOURCE_DIR}/tests/unit/test_http.c
  ${CMAKE_SOURCE_DIR}/tests/unit/net_server.c
  ${CMAKE_SOURCE_DIR}/src/http.c
  ${CMAKE_SOURCE_DIR}/src/log.c)
deprov_unit(test_target
  ${CMAKE_SOURCE_DIR}/tests/unit/test_target.c
  ${CMAKE_SOURCE_DIR}/tests/unit/net_server.c
  ${CMAKE_SOURCE_DIR}/src/target.c
  ${CMAKE_SOURCE_DIR}/src/laneheap.c
  ${CMAKE_SOURCE_DIR}/src/http.c
  ${CMAKE_SOURCE_DIR}/src/auth.c
  ${CMAKE_SOURCE_DIR}/src/ratelimit.c
  ${CMAKE_SOURCE_DIR}/src/backoff.c
  ${CMAKE_SOURCE_DIR}/src/log.c
  ${CMAKE_SOURCE_DIR}/src/diag.c)
