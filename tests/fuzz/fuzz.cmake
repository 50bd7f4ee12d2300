# libFuzzer harnesses (-DDEPROV_FUZZ=ON, clang only): each is built from the
# sources it exercises, like the unit tests in tests/unit/cmake/, with
# -fsanitize=fuzzer,address,undefined. Build them in a build directory of
# their own (deploy/fuzz and deploy/run-tests use build-fuzz):
#
#   cmake -S . -B build-fuzz -DCMAKE_C_COMPILER=clang-14 -DDEPROV_FUZZ=ON
#   cmake --build build-fuzz --target fuzz
#
# Each harness NAME has its seed corpus in tests/fuzz/corpus/NAME/; they
# share tests/fuzz/json.dict. ctest -L fuzz runs each over its seed corpus
# once (regression); deploy/fuzz looks for new inputs.
if(NOT CMAKE_C_COMPILER_ID MATCHES "Clang")
  message(FATAL_ERROR "DEPROV_FUZZ needs clang (libFuzzer): configure with "
    "-DCMAKE_C_COMPILER=clang-14 (deploy/install-deps installs it)")
endif()
include(CheckCSourceCompiles)
set(CMAKE_REQUIRED_FLAGS "-fsanitize=fuzzer,address,undefined")
check_c_source_compiles("
#include <stddef.h>
#include <stdint.h>
int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n);
int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n) { return (int)(d == NULL && n > 0); }
" DEPROV_HAVE_LIBFUZZER)
unset(CMAKE_REQUIRED_FLAGS)
if(NOT DEPROV_HAVE_LIBFUZZER)
  message(FATAL_ERROR "clang cannot link -fsanitize=fuzzer,address,undefined: "
    "the compiler-rt runtime is missing (Debian: libclang-rt-14-dev, which "
    "deploy/install-deps installs)")
endif()

set(DEPROV_FUZZ_DIR ${CMAKE_CURRENT_LIST_DIR})
add_custom_target(fuzz)

# deprov_fuzz(NAME SOURCES...): a harness tests/fuzz/NAME.c linked with the
# listed sources (paths from the top of the tree) and the shared helpers.
function(deprov_fuzz name)
  set(srcs ${DEPROV_FUZZ_DIR}/${name}.c ${DEPROV_FUZZ_DIR}/fuzz_util.c)
  foreach(s ${ARGN})
    list(APPEND srcs ${CMAKE_SOURCE_DIR}/${s})
  endforeach()
  add_executable(${name} EXCLUDE_FROM_ALL ${srcs})
  target_include_directories(${name} PRIVATE ${CMAKE_SOURCE_DIR}/include
    ${CMAKE_SOURCE_DIR}/src/connectors ${DEPROV_FUZZ_DIR})
  target_compile_options(${name} PRIVATE -fsanitize=fuzzer,address,undefined
    -fno-sanitize-recover=undefined -fno-omit-frame-pointer -g)
  target_link_options(${name} PRIVATE -fsanitize=fuzzer,address,undefined)
  # deprov_base (the clock, random ids) as every unit test links it.
  target_link_libraries(${name} PRIVATE deprov_base PkgConfig::DEPS m)
  add_dependencies(fuzz ${name})
  # Regression: every seed once (-runs=0 runs the corpus and stops).
  add_test(NAME ${name} COMMAND ${name} -runs=0
    ${DEPROV_FUZZ_DIR}/corpus/${name})
  set_tests_properties(${name} PROPERTIES LABELS fuzz TIMEOUT 120)
endfunction()

# The whole core, instrumented like the harnesses, for those whose code
# reaches most of it: a configuration checks each target's options through
# its connector's descriptor (src/connectors/connector.c), which brings in
# every connector and what they run on.
add_library(deprov_fuzz_core STATIC EXCLUDE_FROM_ALL ${DEPROV_CORE_SOURCES})
target_include_directories(deprov_fuzz_core PUBLIC include)
target_compile_options(deprov_fuzz_core PRIVATE
  -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=undefined
  -fno-omit-frame-pointer -g)
target_link_libraries(deprov_fuzz_core PUBLIC deprov_base PkgConfig::DEPS PkgConfig::PQ m)

# A target's runtime (as DEPROV_TARGET_RUNTIME in tests/unit/units.cmake).
set(DEPROV_FUZZ_TARGET_RUNTIME src/target.c src/laneheap.c src/http.c
  src/auth.c src/ratelimit.c src/backoff.c src/log.c src/diag.c)

# Events and times from outside.
deprov_fuzz(fuzz_event src/event.c src/jsonc.c src/diag.c)
deprov_fuzz(fuzz_time src/event.c src/jsonc.c src/diag.c)
# Kafka messages and Okta hooks through ingest, with a stub engine.
deprov_fuzz(fuzz_ingest tests/fuzz/ingest_stubs.c tests/fuzz/fuzz_quiet.c
  src/ingest.c src/event.c src/jsonc.c src/diag.c src/log.c)
# Configuration (with the ingest section) and runbooks, from files.
deprov_fuzz(fuzz_config tests/fuzz/fuzz_quiet.c)
target_link_libraries(fuzz_config PRIVATE deprov_fuzz_core)
deprov_fuzz(fuzz_runbook tests/fuzz/fuzz_quiet.c)
target_link_libraries(fuzz_runbook PRIVATE deprov_fuzz_core)
# The comment-tolerant JSON parser and the checks for JSON from outside.
deprov_fuzz(fuzz_jsonc src/jsonc.c src/diag.c)
# The waits taken from a peer's response headers (target.h).
deprov_fuzz(fuzz_waits ${DEPROV_FUZZ_TARGET_RUNTIME})
# The connectors' pure halves: quoting, paths, answer readers, classifiers.
# Those with signals hooks (rate-limit headers) link a target's runtime.
deprov_fuzz(fuzz_salesforce tests/fuzz/fuzz_conn.c tests/fuzz/fuzz_quiet.c
  src/connectors/salesforce-proto.c src/connectors/common-proto.c
  ${DEPROV_FUZZ_TARGET_RUNTIME})
deprov_fuzz(fuzz_scim tests/fuzz/fuzz_conn.c tests/fuzz/fuzz_quiet.c
  src/connectors/scim-proto.c src/connectors/common-proto.c src/http.c
  src/jsonc.c src/diag.c src/log.c)
deprov_fuzz(fuzz_graph tests/fuzz/fuzz_conn.c tests/fuzz/fuzz_quiet.c
  src/connectors/graph-proto.c src/connectors/common-proto.c src/http.c
  src/log.c)
deprov_fuzz(fuzz_okta tests/fuzz/fuzz_conn.c tests/fuzz/fuzz_quiet.c
  src/connectors/okta-proto.c src/connectors/common-proto.c
  ${DEPROV_FUZZ_TARGET_RUNTIME})
deprov_fuzz(fuzz_google tests/fuzz/fuzz_conn.c tests/fuzz/fuzz_quiet.c
  src/connectors/google-proto.c src/connectors/common-proto.c src/http.c
  src/log.c src/diag.c)
