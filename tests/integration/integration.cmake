# Integration tests: the real deprovd against the embedded Kafka mock cluster
# and deprov-sandbox, driven by tests/integration/*.py (Python standard library).
find_program(DEPROV_PYTHON3 python3 REQUIRED)

set(DEPROV_IT_CORE
  single_leaver reassign_450 faults_503_429 timeouts_and_resets duplicate_event
  malformed_event crash_resume freeze_lane_across_cases request_limit_exceeded escalation
  no_account_and_fallback_owner jwt_bearer_and_no_secrets_in_logs bearer_not_logged
  check check_connector_options api_roles_freeze_unfreeze emergency_ahead_of_backlog
  graceful_stop)

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

# The SLA dashboard (/v1/summary, the page in headless Chromium) and TLS on the admin API.
set(DEPROV_IT_DASH summary exposure browser tls)

foreach(t ${DEPROV_IT_DASH})
  add_test(NAME it_dashboard_${t}
    COMMAND ${DEPROV_PYTHON3} ${CMAKE_SOURCE_DIR}/tests/integration/it_dashboard.py
            --build ${CMAKE_BINARY_DIR} ${t})
  set_tests_properties(it_dashboard_${t} PROPERTIES LABELS integration TIMEOUT 300)
endforeach()

# Operations: the tamper-evident audit trail and deprovctl (tests/integration/it_ops.py).
set(DEPROV_IT_OPS audit_chain cli_freeze_and_views cli_publish_cancel cli_api_down cli_check)

foreach(t ${DEPROV_IT_OPS})
  add_test(NAME it_ops_${t}
    COMMAND ${DEPROV_PYTHON3} ${CMAKE_SOURCE_DIR}/tests/integration/it_ops.py
            --build ${CMAKE_BINARY_DIR} ${t})
  set_tests_properties(it_ops_${t} PROPERTIES LABELS integration TIMEOUT 300)
endforeach()

# Prometheus /metrics (promtool, values) and SLA breach webhooks (tests/integration/it_metrics.py).
set(DEPROV_IT_METRICS promtool_and_values sla_breach_webhooks sla_deadline_passed_while_down)

foreach(t ${DEPROV_IT_METRICS})
  add_test(NAME it_metrics_${t}
    COMMAND ${DEPROV_PYTHON3} ${CMAKE_SOURCE_DIR}/tests/integration/it_metrics.py
            --build ${CMAKE_BINARY_DIR} ${t})
  set_tests_properties(it_metrics_${t} PROPERTIES LABELS integration TIMEOUT 300
    SKIP_RETURN_CODE 77)
endforeach()

# Ingestion: effective dates, rescinds, binary CloudEvents, Okta hooks, HR
# mappings, a mixed stream of 1,000 messages, a broker outage, backpressure.
set(DEPROV_IT_INGEST
  effective_date_survives_restart rescind_unfreezes_only_frozen_targets binary_cloudevent
  okta_hook_http_and_kafka hr_mappings mixed_thousand broker_outage backpressure
  audit_stream_survives_outage nul_and_bad_utf8_refused crash_loop_breaker)
foreach(t ${DEPROV_IT_INGEST})
  add_test(NAME it_ingest_${t}
    COMMAND ${DEPROV_PYTHON3} ${CMAKE_SOURCE_DIR}/tests/integration/it_ingest.py
            --build ${CMAKE_BINARY_DIR} ${t})
  # crash_loop_breaker skips (77) when deprovd has no test hooks (Release).
  set_tests_properties(it_ingest_${t} PROPERTIES LABELS integration TIMEOUT 300
    SKIP_RETURN_CODE 77)
endforeach()

# Microsoft Graph and Google Workspace connectors, and the all-targets runbook
# (tests/integration/it_connectors_graph_google.py; all_targets skips with 77
# until the SCIM and Okta connectors exist).
set(DEPROV_IT_GRAPH_GOOGLE
  graph_steps graph_resolve_paths graph_idempotent graph_429_storm graph_auth_flows
  google_steps google_fallback_owner_and_no_account google_idempotent google_rate_limits
  google_transfer_fails google_transfer_timeout google_resume_transfer google_service_account
  all_targets)

foreach(t ${DEPROV_IT_GRAPH_GOOGLE})
  add_test(NAME it_graph_google_${t}
    COMMAND ${DEPROV_PYTHON3} ${CMAKE_SOURCE_DIR}/tests/integration/it_connectors_graph_google.py
            --build ${CMAKE_BINARY_DIR} ${t})
  set_tests_properties(it_graph_google_${t} PROPERTIES LABELS integration TIMEOUT 300
    SKIP_RETURN_CODE 77)
endforeach()

# SCIM 2.0 (Slack, GitHub EMU presets) and Okta connectors against the sandbox
# (tests/integration/it_connectors_scim_okta.py).
set(DEPROV_IT_SCIM_OKTA
  scim_all_steps scim_idempotent scim_412_reread scim_no_account scim_429_storm scim_delete
  scim_error_detail okta_all_steps okta_statuses okta_unsuspendable_skip okta_idempotent
  okta_no_account okta_freeze_unfreeze okta_suspend_race okta_deactivate_race okta_429_storm
  okta_rate_limit)
foreach(t ${DEPROV_IT_SCIM_OKTA})
  add_test(NAME it_scim_okta_${t}
    COMMAND ${DEPROV_PYTHON3} ${CMAKE_SOURCE_DIR}/tests/integration/it_connectors_scim_okta.py
            --build ${CMAKE_BINARY_DIR} ${t})
  set_tests_properties(it_scim_okta_${t} PROPERTIES LABELS integration TIMEOUT 300)
endforeach()

# Containment truth (tests/integration/it_connectors_reinstate.py): Salesforce
# deactivation refusals end escalated with the vendor's words and the user
# frozen; the reactivate step on every kind of target.
set(DEPROV_IT_REINSTATE sf_deactivation_blockers sf_reactivate reactivate_all_kinds)
foreach(t ${DEPROV_IT_REINSTATE})
  add_test(NAME it_connectors_reinstate_${t}
    COMMAND ${DEPROV_PYTHON3} ${CMAKE_SOURCE_DIR}/tests/integration/it_connectors_reinstate.py
            --build ${CMAKE_BINARY_DIR} ${t})
  set_tests_properties(it_connectors_reinstate_${t} PROPERTIES LABELS integration TIMEOUT 300)
endforeach()

# Containment truth (tests/integration/it_containment.py): a refused freeze
# escalates a case that is not contained; a freeze that succeeds on its third
# attempt; unfreezes of a deprovisioned person refused (API, Kafka, Okta hook);
# a new leaver after a case ended; reinstate and its refusals.
set(DEPROV_IT_CONTAINMENT freeze_refused_escalates freeze_third_attempt
  unfreeze_after_completion_refused okta_unsuspend_hook_refused second_leaver_new_case
  reinstate reinstate_refused_while_running)
foreach(t ${DEPROV_IT_CONTAINMENT})
  add_test(NAME it_containment_${t}
    COMMAND ${DEPROV_PYTHON3} ${CMAKE_SOURCE_DIR}/tests/integration/it_containment.py
            --build ${CMAKE_BINARY_DIR} ${t})
  set_tests_properties(it_containment_${t} PROPERTIES LABELS integration TIMEOUT 300)
endforeach()

# Hardening (tests/integration/it_harden.py): the admin API under slow clients
# and at the descriptor limit, strict case ids, TLS without tickets, bounded
# shutdown when Kafka is gone, the second signal, the store's lock.
set(DEPROV_IT_HARDEN case_ids tls_no_tickets store_lock stop_kafka_gone second_signal
  slow_clients accept_pause)
foreach(t ${DEPROV_IT_HARDEN})
  add_test(NAME it_harden_${t}
    COMMAND ${DEPROV_PYTHON3} ${CMAKE_SOURCE_DIR}/tests/integration/it_harden.py
            --build ${CMAKE_BINARY_DIR} ${t})
  set_tests_properties(it_harden_${t} PROPERTIES LABELS integration TIMEOUT 300)
endforeach()

# Security: credentials echoed back by targets are masked in every record
# (tests/integration/it_security.py).
set(DEPROV_IT_SECURITY secrets_echoed_by_targets)
foreach(t ${DEPROV_IT_SECURITY})
  add_test(NAME it_security_${t}
    COMMAND ${DEPROV_PYTHON3} ${CMAKE_SOURCE_DIR}/tests/integration/it_security.py
            --build ${CMAKE_BINARY_DIR} ${t})
  set_tests_properties(it_security_${t} PROPERTIES LABELS integration TIMEOUT 300)
endforeach()

# Chaos (tests/integration/it_chaos.py): a layoff while deprovd is killed and
# stopped at random moments and the sandbox injects 429s, 503s and resets.
set(DEPROV_IT_CHAOS kill_and_stop_during_layoff)
foreach(t ${DEPROV_IT_CHAOS})
  add_test(NAME it_chaos_${t}
    COMMAND ${DEPROV_PYTHON3} ${CMAKE_SOURCE_DIR}/tests/integration/it_chaos.py
            --build ${CMAKE_BINARY_DIR} ${t})
  set_tests_properties(it_chaos_${t} PROPERTIES LABELS integration TIMEOUT 600)
endforeach()

# Real Apache Kafka and PostgreSQL servers (tests/integration/realservers.cmake).
include(${CMAKE_CURRENT_LIST_DIR}/realservers.cmake)
