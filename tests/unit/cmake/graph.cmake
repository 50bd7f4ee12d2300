# Microsoft Graph and Google Workspace connectors: the pure protocol halves
# (paths, OData quoting, bodies, parsers, options, classifiers).
deprov_unit(test_graph tests/unit/test_graph.c tests/unit/connector_resp.c
  src/connectors/graph-proto.c
  src/connectors/common-proto.c src/http.c src/log.c)
target_include_directories(test_graph PRIVATE src/connectors)
deprov_unit(test_google tests/unit/test_google.c tests/unit/connector_resp.c
  src/connectors/google-proto.c
  src/connectors/common-proto.c src/http.c src/log.c src/diag.c)
target_include_directories(test_google PRIVATE src/connectors)
target_link_libraries(test_google PRIVATE PkgConfig::DEPS)
# The Graph and Google step machines, on the fake engine and target of
# connector_fixture.c: lookups, freeze, revoke_tokens, deactivate.
deprov_unit(test_graph_steps tests/unit/test_graph_steps.c
  src/connectors/graph.c src/connectors/graph-proto.c
  ${DEPROV_CONNECTOR_STEPS})
target_include_directories(test_graph_steps PRIVATE src/connectors)
deprov_unit(test_google_steps tests/unit/test_google_steps.c
  src/connectors/google.c src/connectors/google-proto.c
  ${DEPROV_CONNECTOR_STEPS})
target_include_directories(test_google_steps PRIVATE src/connectors)
