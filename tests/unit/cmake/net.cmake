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
# test_target uses the Okta and Salesforce signals hooks for the request
# window and the usage slow-down.
deprov_unit(test_target
  ${CMAKE_SOURCE_DIR}/tests/unit/test_target.c
  ${CMAKE_SOURCE_DIR}/tests/unit/net_server.c
  ${CMAKE_SOURCE_DIR}/src/connectors/okta-proto.c
  ${CMAKE_SOURCE_DIR}/src/connectors/salesforce-proto.c
  ${CMAKE_SOURCE_DIR}/src/connectors/common-proto.c
  ${DEPROV_TARGET_RUNTIME})
target_include_directories(test_target PRIVATE
  ${CMAKE_SOURCE_DIR}/src/connectors)
