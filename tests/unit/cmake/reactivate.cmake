# The reactivate step of the SCIM, Okta, Graph and Google connectors: their
# step state machines driven by the fake engine and target of
# connector_fixture.c (the Salesforce one is in test_salesforce_steps).
deprov_unit(test_reactivate_steps tests/unit/test_reactivate_steps.c
  src/connectors/scim.c src/connectors/scim-proto.c
  src/connectors/okta.c src/connectors/okta-proto.c
  src/connectors/graph.c src/connectors/graph-proto.c
  src/connectors/google.c src/connectors/google-proto.c
  ${DEPROV_CONNECTOR_STEPS})
target_include_directories(test_reactivate_steps PRIVATE src/connectors)
