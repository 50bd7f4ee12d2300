# The configuration a system install ships as /etc/deprov/deprovd.json:
# deploy/deprovd.example.json with the paths of the packaged layout.
#   cmake -DIN=deploy/deprovd.example.json -DOUT=deprovd.json -P sysconfig.cmake
# One substitution per row below; each says how many places it must change,
# and a row that no longer matches the example fails the build (so an edit
# of the example cannot silently leave a development path in the package;
# deploy/package-test then runs `deprovd --check` on the result).
foreach(v IN ITEMS IN OUT)
  if(NOT DEFINED ${v})
    message(FATAL_ERROR "sysconfig.cmake: -D${v}=... is required")
  endif()
endforeach()

file(READ "${IN}" text)

# sysconfig_sub(REGEX REPLACEMENT COUNT): replace every match, of which
# there must be exactly COUNT.
function(sysconfig_sub regex replacement count)
  string(REGEX MATCHALL "${regex}" found "${text}")
  list(LENGTH found n)
  if(NOT n EQUAL count)
    message(FATAL_ERROR "sysconfig.cmake: \"${regex}\" matches ${n} times "
      "in ${IN}, expected ${count}: update cmake/sysconfig.cmake")
  endif()
  string(REGEX REPLACE "${regex}" "${replacement}" text "${text}")
  set(text "${text}" PARENT_SCOPE)
endfunction()

sysconfig_sub("// deprovd configuration: an example that documents every key.\n"
  "// deprovd configuration of the system service (deprovd.service), made from\n// the example that documents every key (deploy/deprovd.example.json in the\n// source) with the paths of the package: the store in /var/lib/deprov, the\n// runbooks in /usr/share/deprov/runbooks, secrets from systemd credentials:\n// a file /etc/deprov/credentials/NAME (root only) is read here as\n// \"\${CREDENTIALS_DIRECTORY}/deprov_NAME\" (see deprovd(8)).\n" 1)
sysconfig_sub("\"store\": { \"path\": \"var/deprov.db\" },          // default \"var/deprov.db\""
  "\"store\": { \"path\": \"/var/lib/deprov/deprov.db\" },  // the unit's StateDirectory" 1)
sysconfig_sub("  // in deploy/, the shipped runbooks in \\.\\./runbooks\\. Default \"runbooks\"\\."
  "  // in /etc/deprov, the packaged runbooks in /usr/share/deprov. Default \"runbooks\"." 1)
sysconfig_sub("\"runbooks\": \"\\.\\./runbooks\","
  "\"runbooks\": \"/usr/share/deprov/runbooks\"," 1)
# Secrets: from the credentials systemd copies in at start (LoadCredential=).
sysconfig_sub("/run/secrets/" "\${CREDENTIALS_DIRECTORY}/deprov_" 7)
sysconfig_sub("/etc/deprov/tls\\." "\${CREDENTIALS_DIRECTORY}/deprov_tls." 2)
sysconfig_sub("\"hook_authorization_env\": \"OKTA_HOOK_SECRET\" },"
  "\"hook_authorization_file\": \"\${CREDENTIALS_DIRECTORY}/deprov_okta-hook\" }," 1)
# No API tokens until the operator adds some: the example's hashes are of
# tokens that are not this installation's.
sysconfig_sub("\n      { (\"name\": \"[a-z-]+\", \"role\": \"[a-z]+\"),\n        \"sha256\": \"[0-9a-f]+\" },"
  "\n      // { \\1, \"sha256\": \"<64 hex digits>\" }," 2)

file(WRITE "${OUT}.tmp" "${text}")
file(RENAME "${OUT}.tmp" "${OUT}")
