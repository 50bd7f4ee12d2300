# Configuration and runbooks: the comment-tolerant JSON parser with line
# numbers, config_load with its file:line diagnostics and secrets, and the
# runbook loader, matcher and selector (including the shipped runbooks and
# the example configuration, found through DEPROV_SOURCE_DIR).
# Diagnostics: errors and warnings, and the "did you mean" for a typo.
deprov_unit(test_diag
  ${CMAKE_SOURCE_DIR}/tests/unit/test_diag.c
  ${CMAKE_SOURCE_DIR}/src/diag.c)
deprov_unit(test_jsonc
  ${CMAKE_SOURCE_DIR}/tests/unit/test_jsonc.c
  ${CMAKE_SOURCE_DIR}/src/jsonc.c
  ${CMAKE_SOURCE_DIR}/src/diag.c
  ${CMAKE_SOURCE_DIR}/src/log.c)
# Both know the target kinds from the connector table, and check options
# with them, so they link the core.
deprov_unit(test_config
  ${CMAKE_SOURCE_DIR}/tests/unit/test_config.c)
target_link_libraries(test_config PRIVATE deprov_core)
target_compile_definitions(test_config PRIVATE
  DEPROV_SOURCE_DIR="${CMAKE_SOURCE_DIR}")
deprov_unit(test_runbook
  ${CMAKE_SOURCE_DIR}/tests/unit/test_runbook.c)
target_link_libraries(test_runbook PRIVATE deprov_core)
target_compile_definitions(test_runbook PRIVATE
  DEPROV_SOURCE_DIR="${CMAKE_SOURCE_DIR}")
