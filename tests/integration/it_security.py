#!/usr/bin/env python3
"""Security integration tests: credentials a target echoes back in its error
answers are masked everywhere deprov keeps or shows text (the daemon's log,
the case and its steps, the timeline, the audit trail, the store). Run one
test: it_security.py --build DIR NAME."""

import base64
import json
import os
import re
import sqlite3
import subprocess
import sys
import urllib.parse

sys.path.insert(0, os.path.dirname(__file__))
from harness import (CLIENT_ID, INTEGRATION_USER, Daemon, Sandbox, build_dir,  # noqa: E402
                     gen_rsa, leaver_for, log, publish, main, run, seed_people)

# Credentials with characters that change under JSON, URL and base64 encoding.
SCIM_TOKEN = "scim-token/with+special=chars_0123456789"
OKTA_TOKEN = "00okta-ssws-token_0123456789abcdefXYZ"
GRAPH_SECRET = "graph~secret/with+chars&more=0123456789"
TENANT = "00000000-aaaa-4000-8000-000000000001"
LIMITS = {"rate_per_sec": 500, "burst": 100, "concurrency": 16, "timeout_ms": 5000,
          "connect_timeout_ms": 2000}


def b64_runs(text):
    """Every run of text that decodes as base64 (either alphabet), decoded."""
    out = []
    for run_ in re.findall(r"[A-Za-z0-9+/_=-]{12,}", text):
        s = run_.rstrip("=")
        for alt in (s, s.replace("-", "+").replace("_", "/")):
            for cut in range(4):       # the run may start mid-group
                t = alt[cut:]
                t = t[:len(t) - len(t) % 4] if len(t) % 4 != 1 else t[:-1]
                try:
                    out.append(base64.b64decode(t + "=" * (-len(t) % 4),
                                                validate=True).decode("latin-1"))
                except (ValueError, base64.binascii.Error):
                    pass
    return out


def leaks(name, text, secrets):
    """What of secrets (or a live Bearer/SSWS credential) text holds."""
    found = []
    decoded = b64_runs(text)
    for s in secrets:
        for form in {s, urllib.parse.quote(s, safe=""), json.dumps(s)[1:-1],
                     json.dumps(s)[1:-1].replace("/", "\\/")}:
            if form in text:
                found.append("%s: %s... as is or encoded" % (name, form[:10]))
        if any(s in d for d in decoded):
            found.append("%s: %s... in base64" % (name, s[:10]))
    # A credential after its scheme, not masked: the fetched tokens too.
    for m in re.finditer(r"(Bearer|SSWS) ([^*\s\"\\,;)]{6})", text + "\n".join(decoded)):
        found.append("%s: %s %s..." % (name, m.group(1), m.group(2)))
    if re.search(r"sandbox-graph\.[0-9a-f]", text + "\n".join(decoded)):
        found.append("%s: a Graph access token" % name)
    return found


def test_secrets_echoed_by_targets(work):
    """Each target answers its first write with a 400 that quotes our
    credential back (the Authorization header as is and in base64, the token
    request's form body with the client secret, a line of the private key):
    the step fails with that text, and no credential (configured, or fetched
    at run time) appears in the log, the API's case and timeline, the audit
    export or the store."""
    key, pub = gen_rsa(work)
    with open(key) as f:
        pem_line = f.read().splitlines()[2]
    seed = seed_people(1)
    seed["scim"] = {"slack": {"users": [{"userName": "emp0001@acme.example",
                                         "externalId": "E0001",
                                         "email": "emp0001@acme.example"}]}}
    seed["okta"] = {"users": [{"login": "emp0001@acme.example", "status": "ACTIVE"}]}
    seed["graph"] = {"users": [{"userPrincipalName": "emp0001@acme.example",
                                "mail": "emp0001@acme.example", "employeeId": "E0001",
                                "accountEnabled": True, "sessions": 1}]}
    sb = Sandbox(work, seed, public_key=pub,
                 args=["--token", SCIM_TOKEN, "--okta-token", OKTA_TOKEN,
                       "--graph-client-secret", GRAPH_SECRET])
    echo = "{{authorization}} ({{authorization_base64}})"
    sb.fault({"path": "/scim/slack/v2/Users/", "method": "PATCH", "status": 400, "count": 1,
              "body": json.dumps({"schemas": ["urn:ietf:params:scim:api:messages:2.0:Error"],
                                  "status": "400",
                                  "detail": "credential %s is not valid" % echo})})
    sb.fault({"path": "/okta/api/v1/users/", "method": "POST", "status": 400, "count": 1,
              "body": json.dumps({"errorCode": "E0000001",
                                  "errorSummary": "Api validation failed: " + echo,
                                  "errorCauses": [{"errorSummary": echo}]})})
    sb.fault({"path": "/graph/%s/oauth2/" % TENANT, "method": "POST", "status": 400,
              "count": 1,
              "body": json.dumps({"error": "invalid_request",
                                  "error_description": "AADSTS90014: cannot read {{body}}"})})
    sb.fault({"path": "/graph/v1.0/users/", "method": "PATCH", "status": 400, "count": 1,
              "body": json.dumps({"error": {"code": "Request_BadRequest",
                                            "message": "token %s rejected" % echo}})})
    sb.fault({"path": "/services/data/", "method": "PATCH", "status": 400, "count": 1,
              "body": json.dumps([{"message": "session %s invalid, key %s" % (echo, pem_line),
                                   "errorCode": "FIELD_INTEGRITY_EXCEPTION"}])})

    def targets(cfg):
        cfg["targets"]["salesforce-prod"]["auth"] = {
            "type": "jwt_bearer", "client_id": CLIENT_ID, "username": INTEGRATION_USER,
            "private_key_file": key, "token_url": sb.url + "/services/oauth2/token",
            "audience": "https://login.salesforce.com"}
        cfg["targets"]["slack"] = {"kind": "scim", "base_url": sb.url + "/scim/slack/v2",
                                   "auth": {"type": "bearer", "token": SCIM_TOKEN},
                                   "options": {"preset": "slack"}, "limits": dict(LIMITS)}
        cfg["targets"]["okta"] = {"kind": "okta", "base_url": sb.url + "/okta",
                                  "auth": {"type": "ssws", "token": OKTA_TOKEN},
                                  "limits": dict(LIMITS)}
        cfg["targets"]["entra"] = {
            "kind": "graph", "base_url": sb.url + "/graph", "limits": dict(LIMITS),
            "auth": {"type": "client_credentials", "client_id": CLIENT_ID,
                     "token_url": sb.url + "/graph/%s/oauth2/v2.0/token" % TENANT,
                     "scope": "https://graph.microsoft.com/.default",
                     "client_secret": GRAPH_SECRET}}
    rb = {"name": "leaver", "match": {"type": ["io.deprov.leaver"]},
          "retry": {"max_attempts": 5, "initial_backoff_ms": 50, "max_backoff_ms": 200},
          "targets": [{"select": {"name": "*"}, "steps": ["freeze", "deactivate"]}]}
    d = Daemon(work, sb, runbooks=[rb], extra=targets).start()
    try:
        publish(d.bootstrap, [("E0001", leaver_for(1))])
        c = d.wait_case("E0001", states=("completed", "escalated"), timeout=90)
        full = d.case(c["id"])
        api_text = json.dumps(full)
        log("case", c["id"], c["state"], "error:", full.get("error"))
        r = subprocess.run([os.path.join(build_dir(), "deprovctl"), "audit", "export",
                            "--config", d.config], capture_output=True, text=True, timeout=60)
        assert r.returncode == 0, r.stderr
        audit_text = r.stdout
        d.stop()
        db = sqlite3.connect(os.path.join(work.path, "var", "deprov.db"))
        store_text = "\n".join(repr(row) for t in ("cases", "steps", "timeline", "audit")
                               for row in db.execute("SELECT * FROM %s" % t))
        log_text = d.log_text()
        # The echoed errors did reach every kind of record: this test tests something.
        failed = [s for s in full["steps"] if s["state"] == "failed"]
        assert len(failed) >= 3, full["steps"]
        details = " ".join(str(s.get("detail")) + str(s.get("last_error")) for s in failed)
        for said in ("is not valid", "rejected", "invalid, key"):
            assert said in details, (said, details)
        assert "AADSTS90014" in log_text
        assert "is not valid" in audit_text and "is not valid" in store_text
        secrets = [SCIM_TOKEN, OKTA_TOKEN, GRAPH_SECRET, pem_line]
        found = []
        for name, text in (("log", log_text), ("api", api_text), ("audit", audit_text),
                           ("store", store_text)):
            found += leaks(name, text, secrets)
        assert not found, found
    finally:
        d.stop()
        sb.stop()


TESTS = {f.__name__[5:]: f for f in [test_secrets_echoed_by_targets]}

if __name__ == "__main__":
    main(TESTS)
