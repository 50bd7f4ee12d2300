# Salesforce connector.
# test_salesforce: the pure protocol half (SOQL escaping, paths, bodies,
# parsers, classifier, the objects a reassign may name, Sforce-Limit-Info).
deprov_unit(test_salesforce tests/unit/test_salesforce.c
  src/connectors/salesforce-proto.c src/connectors/common-proto.c
  ${DEPROV_TARGET_RUNTIME})
target_include_directories(test_salesforce PRIVATE src/connectors)
# test_salesforce_steps: the step state machines driven by a fake engine and
# a fake target defined in the test itself (no engine.c/target.c linked).
deprov_unit(test_salesforce_steps tests/unit/test_salesforce_steps.c
  src/connectors/salesforce.c src/connectors/salesforce-proto.c
  src/connectors/common.c src/connectors/lookup.c
  src/connectors/common-proto.c src/http.c src/log.c
  src/diag.c)
target_include_directories(test_salesforce_steps PRIVATE src/connectors)
