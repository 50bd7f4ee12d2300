# Salesforce connector.
# test_salesforce: the pure protocol half (SOQL escaping, paths, bodies,
# parsers, classifier, the objects a reassign may name, Sforce-Limit-Info).
deprov_unit(test_salesforce tests/unit/test_salesforce.c
  tests/unit/connector_resp.c
  src/connectors/salesforce-proto.c src/connectors/common-proto.c
  ${DEPROV_TARGET_RUNTIME})
target_include_directories(test_salesforce PRIVATE src/connectors)
# test_salesforce_steps: the step state machines driven by the fake engine
# and target of connector_fixture.c (no engine.c/target.c linked).
deprov_unit(test_salesforce_steps tests/unit/test_salesforce_steps.c
  src/connectors/salesforce.c src/connectors/salesforce-proto.c
  ${DEPROV_CONNECTOR_STEPS})
target_include_directories(test_salesforce_steps PRIVATE src/connectors)
