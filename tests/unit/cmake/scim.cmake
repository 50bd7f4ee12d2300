# SCIM 2.0 and Okta connectors: their pure protocol halves (filters and
# their escaping, paths, PatchOp bodies, User/ListResponse/error parsing,
# Okta status decisions, classifiers, option checks, Okta's rate-limit
# headers). http.c gives http_urlencode.
deprov_unit(test_scim tests/unit/test_scim.c tests/unit/connector_resp.c
  src/connectors/scim-proto.c src/connectors/common-proto.c src/http.c
  src/log.c src/diag.c)
target_include_directories(test_scim PRIVATE src/connectors)
deprov_unit(test_okta tests/unit/test_okta.c tests/unit/connector_resp.c
  src/connectors/okta-proto.c src/connectors/common-proto.c
  ${DEPROV_TARGET_RUNTIME})
target_include_directories(test_okta PRIVATE src/connectors)
# The SCIM and Okta step machines, on the fake engine and target of
# connector_fixture.c: lookups and every step each kind does.
deprov_unit(test_scim_steps tests/unit/test_scim_steps.c
  src/connectors/scim.c src/connectors/scim-proto.c
  ${DEPROV_CONNECTOR_STEPS})
target_include_directories(test_scim_steps PRIVATE src/connectors)
deprov_unit(test_okta_steps tests/unit/test_okta_steps.c
  src/connectors/okta.c src/connectors/okta-proto.c
  ${DEPROV_CONNECTOR_STEPS})
target_include_directories(test_okta_steps PRIVATE src/connectors)
