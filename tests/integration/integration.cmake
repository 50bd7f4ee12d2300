# Integration tests: the real deprovd against the embedded Kafka mock cluster
# and deprov-sandbox, driven by tests/integration/*.py (Python standard library).
find_program(DEPROV_PYTHON3 python3 REQUIRED)

set(DEPROV_IT_CORE
  single_leaver reassign_450 faults_503_429 timeouts_and_resets duplicate_event
  malformed_event crash_resume freeze_lane_across_cases request_limit_exceeded escalation
  no_account_and_fallback_owner jwt_bearer_and_no_secrets_in_logs bearer_not_logged
  check api_roles_freeze_unfreeze graceful_stop)

foreach(t ${DEPROV_IT_CORE})
  add_test(NAME it_core_${t}
    COMMAND ${DEPROV_PYTHON3} ${CMAKE_SOURCE_DIR}/tests/integration/it_core.py
            --build ${CMAKE_BINARY_DIR} ${t})
  set_tests_properties(it_core_${t} PROPERTIES LABELS integration TIMEOUT 300)
endforeach()

# The sandbox on its own: every endpoint, error and fault against the contract.
add_test(NAME sandbox_smoke
  COMMAND ${DEPROV_PYTHON3} ${CMAKE_SOURCE_DIR}/tests/sandbox/smoke_test.py
          ${CMAKE_BINARY_DIR}/deprov-sandbox)
set_tests_properties(sandbox_smoke PROPERTIES LABELS integration TIMEOUT 300)
