# Each module's unit tests register themselves in tests/unit/cmake/<module>.cmake
# with deprov_unit(NAME sources...).
file(GLOB DEPROV_UNIT_FRAGMENTS ${CMAKE_CURRENT_LIST_DIR}/cmake/*.cmake)
list(SORT DEPROV_UNIT_FRAGMENTS)
foreach(fragment ${DEPROV_UNIT_FRAGMENTS})
  include(${fragment})
endforeach()
