# target: the waits taken from a peer's headers (Retry-After, a reset time
# against Date, and Salesforce's Sforce-Limit-Info, read by its connector)
# fed extreme and malformed values.
deprov_unit(test_target_waits
  ${CMAKE_SOURCE_DIR}/tests/unit/test_target_waits.c
  ${CMAKE_SOURCE_DIR}/src/connectors/salesforce-proto.c
  ${CMAKE_SOURCE_DIR}/src/connectors/common-proto.c
  ${DEPROV_TARGET_RUNTIME})
target_include_directories(test_target_waits PRIVATE
  ${CMAKE_SOURCE_DIR}/src/connectors)
