# Each module's unit tests register themselves in tests/unit/cmake/<module>.cmake
# with deprov_unit(NAME sources...).
# A target's runtime (target.c) and what it needs, for tests that link the
# connectors' pure halves: their signals hooks tell a target what the
# vendor's rate-limit headers say.
set(DEPROV_TARGET_RUNTIME
  ${CMAKE_SOURCE_DIR}/src/target.c
  ${CMAKE_SOURCE_DIR}/src/laneheap.c
  ${CMAKE_SOURCE_DIR}/src/http.c
  ${CMAKE_SOURCE_DIR}/src/auth.c
  ${CMAKE_SOURCE_DIR}/src/ratelimit.c
  ${CMAKE_SOURCE_DIR}/src/backoff.c
  ${CMAKE_SOURCE_DIR}/src/log.c
  ${CMAKE_SOURCE_DIR}/src/diag.c)
# The connectors' step tests: the fake engine and target they run against
# (connector_fixture.c), the vendor answers (connector_resp.c), and what
# every connector's step half links. A test adds its connectors' two files.
set(DEPROV_CONNECTOR_STEPS
  ${CMAKE_SOURCE_DIR}/tests/unit/connector_fixture.c
  ${CMAKE_SOURCE_DIR}/tests/unit/connector_resp.c
  ${CMAKE_SOURCE_DIR}/src/connectors/common.c
  ${CMAKE_SOURCE_DIR}/src/connectors/lookup.c
  ${CMAKE_SOURCE_DIR}/src/connectors/common-proto.c
  ${CMAKE_SOURCE_DIR}/src/http.c
  ${CMAKE_SOURCE_DIR}/src/log.c
  ${CMAKE_SOURCE_DIR}/src/diag.c)
file(GLOB DEPROV_UNIT_FRAGMENTS ${CMAKE_CURRENT_LIST_DIR}/cmake/*.cmake)
list(SORT DEPROV_UNIT_FRAGMENTS)
foreach(fragment ${DEPROV_UNIT_FRAGMENTS})
  include(${fragment})
endforeach()
