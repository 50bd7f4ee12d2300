# target: the waits taken from a peer's headers (Retry-After, X-Rate-Limit-
# Reset against Date, Sforce-Limit-Info) fed extreme and malformed values.
deprov_unit(test_target_waits
  ${CMAKE_SOURCE_DIR}/tests/unit/test_target_waits.c
  ${CMAKE_SOURCE_DIR}/src/target.c
  ${CMAKE_SOURCE_DIR}/src/laneheap.c
  ${CMAKE_SOURCE_DIR}/src/http.c
  ${CMAKE_SOURCE_DIR}/src/auth.c
  ${CMAKE_SOURCE_DIR}/src/ratelimit.c
  ${CMAKE_SOURCE_DIR}/src/backoff.c
  ${CMAKE_SOURCE_DIR}/src/log.c
  ${CMAKE_SOURCE_DIR}/src/diag.c)
