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
