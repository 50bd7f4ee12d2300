# Integration tests: the real deprovd against the embedded Kafka mock cluster
# and deprov-sandbox, driven by tests/integration/it_*.py (Python standard
# library). Each file names its own tests: `it_X.py --list` prints the keys
# of its TESTS dict (harness.main), and one ctest PREFIX_NAME is added per
# name here, at configure time. A new test needs only its function and its
# TESTS entry: the files are configure dependencies, so the next build
# re-reads them. A new it_*.py is found on its own (prefix: its name).
find_program(DEPROV_PYTHON3 python3 REQUIRED)

set(DEPROV_IT_DIR ${CMAKE_SOURCE_DIR}/tests/integration)
set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS
  ${DEPROV_IT_DIR}/harness.py)

# deprov_it_list(FILE VAR): the names tests/integration/FILE.py lists, in
# VAR; the file becomes a configure dependency and is taken as registered
# (the glob at the end leaves it alone).
function(deprov_it_list file var)
  set(script ${DEPROV_IT_DIR}/${file}.py)
  execute_process(COMMAND ${DEPROV_PYTHON3} ${script} --list
    OUTPUT_VARIABLE out ERROR_VARIABLE err RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "${file}.py --list failed (${rc}):\n${err}")
  endif()
  string(REGEX MATCHALL "[^\n]+" names "${out}")
  if(NOT names)
    message(FATAL_ERROR "${file}.py --list names no tests")
  endif()
  set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS ${script})
  set_property(GLOBAL APPEND PROPERTY DEPROV_IT_FILES ${file})
  set(${var} ${names} PARENT_SCOPE)
endfunction()

# deprov_it(FILE PREFIX [SKIP] [TIMEOUT S]): a ctest PREFIX_NAME for every
# NAME that tests/integration/FILE.py lists. SKIP: exit status 77 means
# skipped. TIMEOUT: seconds per test (300 unless given).
function(deprov_it file prefix)
  cmake_parse_arguments(IT "SKIP" "TIMEOUT" "" ${ARGN})
  if(NOT IT_TIMEOUT)
    set(IT_TIMEOUT 300)
  endif()
  set(script ${DEPROV_IT_DIR}/${file}.py)
  deprov_it_list(${file} names)
  foreach(t ${names})
    add_test(NAME ${prefix}_${t}
      COMMAND ${DEPROV_PYTHON3} ${script} --build ${CMAKE_BINARY_DIR} ${t})
    set_tests_properties(${prefix}_${t} PROPERTIES LABELS integration
      TIMEOUT ${IT_TIMEOUT})
    if(IT_SKIP)
      set_tests_properties(${prefix}_${t} PROPERTIES SKIP_RETURN_CODE 77)
    endif()
  endforeach()
endfunction()

# The core: leavers end to end, faults, crash and resume, freezes, the API's
# roles, graceful stop.
deprov_it(it_core it_core)

# The sandbox on its own: every endpoint, error and fault against the contract.
add_test(NAME sandbox_smoke
  COMMAND ${DEPROV_PYTHON3} ${CMAKE_SOURCE_DIR}/tests/sandbox/smoke_test.py
          ${CMAKE_BINARY_DIR}/deprov-sandbox)
set_tests_properties(sandbox_smoke PROPERTIES LABELS integration TIMEOUT 300)

# The SLA dashboard (/v1/summary, the page in headless Chromium) and TLS on the admin API.
deprov_it(it_dashboard it_dashboard)

# Operations: the tamper-evident audit trail and deprovctl.
deprov_it(it_ops it_ops)

# Prometheus /metrics (promtool, values) and SLA breach webhooks.
deprov_it(it_metrics it_metrics SKIP)

# Ingestion: effective dates, rescinds, binary CloudEvents, Okta hooks, HR
# mappings, a mixed stream of 1,000 messages, a broker outage, backpressure.
# crash_loop_breaker skips (77) when deprovd has no test hooks (Release).
deprov_it(it_ingest it_ingest SKIP)

# Microsoft Graph and Google Workspace connectors, and the all-targets runbook
# (all_targets skips with 77 until the SCIM and Okta connectors exist).
deprov_it(it_connectors_graph_google it_graph_google SKIP)

# SCIM 2.0 (Slack, GitHub EMU presets) and Okta connectors against the sandbox.
deprov_it(it_connectors_scim_okta it_scim_okta)

# Containment truth: Salesforce deactivation refusals end escalated with the
# vendor's words and the user frozen; the reactivate step on every kind of
# target.
deprov_it(it_connectors_reinstate it_connectors_reinstate)

# Containment truth: a refused freeze escalates a case that is not contained;
# a freeze that succeeds on its third attempt; unfreezes of a deprovisioned
# person refused (API, Kafka, Okta hook); a new leaver after a case ended;
# reinstate and its refusals.
deprov_it(it_containment it_containment)

# Hardening: the admin API under slow clients and at the descriptor limit,
# strict case ids, TLS without tickets, bounded shutdown when Kafka is gone,
# the second signal, the store's lock.
deprov_it(it_harden it_harden)

# Security: credentials echoed back by targets are masked in every record.
deprov_it(it_security it_security)

# The evidence export: leavers exported as CSV and JSON through deprovctl
# and the API, each row checked against the audit trail; bad dates refused.
deprov_it(it_evidence it_evidence)

# Reload without a restart: SIGHUP and deprovctl reload; a good change, a
# bad one (file:line, old configuration kept), restart-only settings
# reported, and reloads while steps are in flight.
deprov_it(it_reload it_reload)

# Chaos: a layoff while deprovd is killed and stopped at random moments and
# the sandbox injects 429s, 503s and resets.
deprov_it(it_chaos it_chaos TIMEOUT 600)

# Real Apache Kafka and PostgreSQL servers (tests/integration/realservers.cmake).
include(${CMAKE_CURRENT_LIST_DIR}/realservers.cmake)

# Any other it_*.py, under its own name.
file(GLOB DEPROV_IT_SCRIPTS CONFIGURE_DEPENDS ${DEPROV_IT_DIR}/it_*.py)
list(SORT DEPROV_IT_SCRIPTS)
get_property(DEPROV_IT_DONE GLOBAL PROPERTY DEPROV_IT_FILES)
foreach(script ${DEPROV_IT_SCRIPTS})
  get_filename_component(file ${script} NAME_WE)
  if(NOT file IN_LIST DEPROV_IT_DONE)
    deprov_it(${file} ${file})
  endif()
endforeach()
