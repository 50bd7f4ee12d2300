# auth: base64url, RS256 JWTs, and the JWT bearer token flow against an
# in-process evhttp token endpoint.
deprov_unit(test_auth
  ${CMAKE_SOURCE_DIR}/tests/unit/test_auth.c
  ${CMAKE_SOURCE_DIR}/src/auth.c
  ${CMAKE_SOURCE_DIR}/src/http.c
  ${CMAKE_SOURCE_DIR}/src/log.c
  ${CMAKE_SOURCE_DIR}/src/diag.c)
