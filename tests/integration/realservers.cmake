# Tests against real servers, started once per ctest run as CTest fixtures:
# an Apache Kafka 4.x broker (tests/tools/kafka-broker, KRaft, jars from Maven
# Central fetched by deploy/install-deps) shared by every it_realkafka_* test,
# each with topics and a consumer group of its own; a PostgreSQL server
# (tests/tools/pg-server). A server that cannot start (no Java, no jars, no
# PostgreSQL) fails its fixture, and every test that needs it fails with it:
# never a skip.
#
# The Kafka tests run in both builds: against a real group coordinator they
# take paths of src/kafka.c the mock cluster does not (cooperative incremental
# assignment, revocation and commit on a real rebalance, another member's
# death, reconnecting to a restarted broker), and those paths deserve the
# sanitizers.

# Topic creation and committed offsets through librdkafka's admin API.
add_executable(deprov-kafka-admin ${CMAKE_SOURCE_DIR}/tests/tools/kafka_admin.c)
target_link_libraries(deprov-kafka-admin PRIVATE PkgConfig::DEPS)

set(DEPROV_KAFKA_BROKER ${CMAKE_SOURCE_DIR}/tests/tools/kafka-broker)
set(DEPROV_KAFKA_DIR ${CMAKE_BINARY_DIR}/kafka-broker)
set(DEPROV_KAFKA_BOOTSTRAP ${CMAKE_BINARY_DIR}/kafka-broker.bootstrap)

# The broker outlives this test; its watchdog stops it should ctest die first.
add_test(NAME kafka_broker_start
  COMMAND ${DEPROV_KAFKA_BROKER} start --dir ${DEPROV_KAFKA_DIR}
          --bootstrap-file ${DEPROV_KAFKA_BOOTSTRAP} --watch-pid parent)
set_tests_properties(kafka_broker_start PROPERTIES FIXTURES_SETUP kafka
  LABELS "integration;realkafka" TIMEOUT 120)
add_test(NAME kafka_broker_stop COMMAND ${DEPROV_KAFKA_BROKER} stop --dir ${DEPROV_KAFKA_DIR})
set_tests_properties(kafka_broker_stop PROPERTIES FIXTURES_CLEANUP kafka
  LABELS "integration;realkafka" TIMEOUT 120)

# deprov_realkafka(FILE PREFIX TESTS...): tests of tests/integration/FILE run
# against the shared broker as it_realkafka_PREFIXNAME.
function(deprov_realkafka file prefix)
  foreach(t ${ARGN})
    add_test(NAME it_realkafka_${prefix}${t}
      COMMAND ${DEPROV_PYTHON3} ${CMAKE_SOURCE_DIR}/tests/integration/${file}
              --build ${CMAKE_BINARY_DIR} --kafka-bootstrap-file ${DEPROV_KAFKA_BOOTSTRAP} ${t})
    set_tests_properties(it_realkafka_${prefix}${t} PROPERTIES FIXTURES_REQUIRED kafka
      LABELS "integration;realkafka" TIMEOUT 300)
  endforeach()
endfunction()

# What only a real broker shows (tests/integration/it_realkafka.py, every
# test it lists): two deprovd in one group with kill -9 of one, static
# membership with the cooperative protocol, lag and committed offsets. Its
# failover_bench is run by hand (docs/KAFKA.md).
deprov_it_list(it_realkafka DEPROV_IT_REALKAFKA)
deprov_realkafka(it_realkafka.py "" ${DEPROV_IT_REALKAFKA})

# The Kafka-facing tests of the mock-cluster suite, unchanged, on a real broker:
# intake, redelivery, dead letters with reasons, kill -9 and SIGTERM (offset
# commits on a real group coordinator), headers, several topics, mapped topics,
# 1,000 messages with lag 0, pause/resume, the audit topic; the two outage
# tests start a broker of their own and kill -9 it.
deprov_realkafka(it_core.py core_
  single_leaver duplicate_event malformed_event crash_resume graceful_stop)
deprov_realkafka(it_ingest.py ingest_
  effective_date_survives_restart binary_cloudevent okta_hook_http_and_kafka hr_mappings
  mixed_thousand broker_outage backpressure audit_stream_survives_outage)

# A throwaway PostgreSQL (Debian's server binaries; as root it runs as the
# user deprov-test), its URL in build/pg-server.url, for the tests of the
# PostgreSQL store (src/store-pg.c), in both builds: each test makes a
# database of its own on it.
set(DEPROV_PG_SERVER ${CMAKE_SOURCE_DIR}/tests/tools/pg-server)
set(DEPROV_PG_DIR ${CMAKE_BINARY_DIR}/pg-server)
set(DEPROV_PG_URL ${CMAKE_BINARY_DIR}/pg-server.url)
add_test(NAME pg_server_start
  COMMAND ${DEPROV_PG_SERVER} start --dir ${DEPROV_PG_DIR} --url-file ${DEPROV_PG_URL}
          --watch-pid parent)
set_tests_properties(pg_server_start PROPERTIES FIXTURES_SETUP pg
  LABELS "integration;pg" TIMEOUT 120)
add_test(NAME pg_server_stop COMMAND ${DEPROV_PG_SERVER} stop --dir ${DEPROV_PG_DIR})
set_tests_properties(pg_server_stop PROPERTIES FIXTURES_CLEANUP pg
  LABELS "integration;pg" TIMEOUT 120)
add_test(NAME it_pg_smoke
  COMMAND sh -c "out=$(psql -X -v ON_ERROR_STOP=1 -tA \"$(cat \"$1\")\" -c 'select 1') && test \"$out\" = 1"
          sh ${DEPROV_PG_URL})
set_tests_properties(it_pg_smoke PROPERTIES FIXTURES_REQUIRED pg
  LABELS "integration;pg" TIMEOUT 60)

# Copying a store into PostgreSQL and reading its audit trail there
# (tests/integration/it_store_pg.py).
deprov_it_list(it_store_pg DEPROV_IT_STORE_PG)
foreach(t ${DEPROV_IT_STORE_PG})
  add_test(NAME it_store_pg_${t}
    COMMAND ${DEPROV_PYTHON3} ${CMAKE_SOURCE_DIR}/tests/integration/it_store_pg.py
            --build ${CMAKE_BINARY_DIR} --pg-url-file ${DEPROV_PG_URL} ${t})
  set_tests_properties(it_store_pg_${t} PROPERTIES FIXTURES_REQUIRED pg
    LABELS "integration;pg" TIMEOUT 300)
endforeach()

# Automatic failover of three deprovd on one PostgreSQL store and one
# consumer group (tests/integration/it_cluster.py): both servers.
deprov_it_list(it_cluster DEPROV_IT_CLUSTER)
foreach(t ${DEPROV_IT_CLUSTER})
  add_test(NAME it_cluster_${t}
    COMMAND ${DEPROV_PYTHON3} ${CMAKE_SOURCE_DIR}/tests/integration/it_cluster.py
            --build ${CMAKE_BINARY_DIR} --kafka-bootstrap-file ${DEPROV_KAFKA_BOOTSTRAP}
            --pg-url-file ${DEPROV_PG_URL} ${t})
  set_tests_properties(it_cluster_${t} PROPERTIES FIXTURES_REQUIRED "pg;kafka"
    LABELS "integration;pg;realkafka" TIMEOUT 300)
endforeach()
