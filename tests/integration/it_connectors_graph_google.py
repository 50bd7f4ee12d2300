#!/usr/bin/env python3
"""Microsoft Graph (Entra ID) and Google Workspace connectors against
deprov-sandbox, driven through a real deprovd: every step, idempotency, the
error paths, throttling, the Data Transfer polling and its failures, both
auth flows of each, and the all-targets runbook (Salesforce + Okta + Slack
SCIM + Graph + Google). Run one test: it_connectors_graph_google.py --build
DIR NAME."""

import json
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
from harness import (CLIENT_ID, SANDBOX_TOKEN, Daemon, Sandbox, Workdir, gen_rsa,  # noqa: E402
                     http, leaver, log, publish, main, run)

GOOGLE_SA = "deprov@deprov-sandbox.iam.gserviceaccount.com"
GRAPH_SECRET = "graph-client-secret-0123456789"
MUTATING = ("freeze", "revoke", "reassign", "deactivate")
LIMITS = {"rate_per_sec": 200, "burst": 50, "concurrency": 8, "timeout_ms": 5000,
          "connect_timeout_ms": 2000}


def runbook(targets, max_attempts=10, initial_ms=50, max_ms=1000, name="standard-leaver"):
    return {"name": name, "match": {"type": ["io.deprov.leaver"]},
            "sla": {"freeze_within_s": 60, "complete_within_s": 900},
            "retry": {"max_attempts": max_attempts, "initial_backoff_ms": initial_ms,
                      "max_backoff_ms": max_ms},
            "targets": targets}


GRAPH_STEPS = {"select": {"kind": "graph"},
               "steps": ["freeze", "revoke_tokens",
                         {"step": "reassign", "objects": ["Drive"]}, "deactivate"]}
GOOGLE_STEPS = {"select": {"kind": "google"},
                "steps": ["freeze", "revoke_tokens",
                          {"step": "reassign", "to": "manager",
                           "fallback_owner": "records-admin@acme.example",
                           "objects": ["Drive"]},
                          "deactivate"]}


def graph_target(sb, auth=None):
    return {"kind": "graph", "base_url": sb.url + "/graph",
            "auth": auth or {"type": "bearer", "token": SANDBOX_TOKEN}, "limits": dict(LIMITS)}


def google_target(sb, auth=None, options=None):
    opts = {"transfer_poll_ms": 100, "transfer_timeout_s": 30}
    opts.update(options or {})
    return {"kind": "google", "base_url": sb.url + "/google",
            "auth": auth or {"type": "bearer", "token": SANDBOX_TOKEN},
            "limits": dict(LIMITS), "options": opts}


def add_targets(**targets):
    def extra(cfg):
        cfg["targets"].update(targets)
    return extra


def graph_user(i, enabled=True, sessions=2, **kw):
    u = {"userPrincipalName": "emp%04d@acme.example" % i, "mail": "emp%04d@acme.example" % i,
         "employeeId": "E%04d" % i, "accountEnabled": enabled, "sessions": sessions}
    u.update(kw)
    return u


def google_seed(n, files=4, private=2, tokens=("a.apps.googleusercontent.com",
                                               "b.apps.googleusercontent.com"), **kw):
    users = [{"primaryEmail": "records-admin@acme.example"},
             {"primaryEmail": "admin@acme.example", "isAdmin": True}]
    for i in range(1, n + 1):
        users.append({"primaryEmail": "emp%04d@acme.example" % i, "tokens": list(tokens),
                      "drive_files": files, "private_files": private, "sessions": 2})
        users.append({"primaryEmail": "boss%04d@acme.example" % i})
    sec = {"transfer_polls": 2, "users": users}
    sec.update(kw)
    return sec


def leaver_n(i, **kw):
    return leaver("E%04d" % i, "emp%04d@acme.example" % i,
                  manager_email=kw.pop("manager", "boss%04d@acme.example" % i), **kw)


def steps_of(d, cid, target):
    return {s["step"]: s for s in d.case(cid)["steps"] if s["target"] == target}


def graph_user_state(sb, upn):
    for u in sb.state()["graph"]["users"]:
        if u["userPrincipalName"].lower() == upn.lower():
            return u
    raise AssertionError("no graph user " + upn)


def google_user_state(sb, email):
    for u in sb.state()["google"]["users"]:
        if u["primaryEmail"].lower() == email.lower():
            return u
    raise AssertionError("no google user " + email)


def freeze_first(entries, targets):
    """Every successful freeze comes before any other successful mutating call."""
    mine = [e for e in entries if e.get("target") in targets and e.get("action") in MUTATING
            and 200 <= e["status"] < 300]
    assert mine, "no mutating calls for %s" % (targets,)
    # Per person: cases that arrive apart in time are not held back for each other.
    for user in {e.get("user") for e in mine}:
        his = [e for e in mine if e.get("user") == user]
        freezes = [i for i, e in enumerate(his) if e["action"] == "freeze"]
        if not freezes:
            continue
        first_other = min([i for i, e in enumerate(his) if e["action"] != "freeze"] or
                          [len(his)])
        assert max(freezes) < first_other, [(e["target"], e["action"], e["seq"]) for e in his]
    return mine


def no_failed_steps(d, cid):
    bad = [s for s in d.case(cid)["steps"] if s["state"] == "failed"]
    assert not bad, bad


# ---- Microsoft Graph ------------------------------------------------------------------

def test_graph_steps(work):
    sb = Sandbox(work, {"graph": {"users": [graph_user(1), graph_user(2, enabled=False)]}})
    d = Daemon(work, sb, runbooks=[runbook([GRAPH_STEPS])],
               extra=add_targets(entra=graph_target(sb))).start()
    try:
        publish(d.bootstrap, [("E0001", leaver_n(1)), ("E0002", leaver_n(2))])
        c = d.wait_case("E0001", timeout=60)
        st = steps_of(d, c["id"], "entra")
        assert st["freeze"]["state"] == "succeeded", st
        assert "accountEnabled=false" in st["freeze"]["detail"], st
        assert st["revoke_tokens"]["state"] == "succeeded", st
        assert "revoked" in st["revoke_tokens"]["detail"], st
        assert st["reassign"]["state"] == "skipped", st
        assert "no ownership transfer" in st["reassign"]["detail"], st
        assert st["deactivate"]["state"] == "succeeded", st
        assert "already disabled" in st["deactivate"]["detail"], st
        u = graph_user_state(sb, "emp0001@acme.example")
        assert u["accountEnabled"] is False and u["sessions"] == 0, u
        assert u["signInSessionsValidFromDateTime"], u
        entries = sb.log()
        freeze_first(entries, ("graph",))
        # deactivate read the user and did not write it again
        mine = [e for e in entries if e["target"] == "graph" and e["user"] == u["id"]]
        assert [e["action"] for e in mine if e["method"] == "PATCH"] == ["freeze"], mine
        # an already disabled account: freeze is "already disabled", no PATCH at all
        c2 = d.wait_case("E0002", timeout=60)
        st2 = steps_of(d, c2["id"], "entra")
        assert st2["freeze"]["detail"] == "already disabled", st2
        u2 = graph_user_state(sb, "emp0002@acme.example")
        assert not [e for e in entries if e["user"] == u2["id"] and e["method"] == "PATCH"]
    finally:
        d.stop()
        sb.stop()


def test_graph_resolve_paths(work):
    users = [
        # userPrincipalName differs from the email: found by $filter on mail
        graph_user(1, userPrincipalName="jdoe@acme.onmicrosoft.com"),
        # only the employee id matches
        graph_user(2, userPrincipalName="x2@acme.onmicrosoft.com", mail="other2@acme.example"),
        # an apostrophe in the mail: OData quoting
        graph_user(3, userPrincipalName="x3@acme.onmicrosoft.com", mail="o'brien@acme.example"),
        # a UPN starting with $ only works in the users('...') form
        graph_user(4, userPrincipalName="$svc@acme.example", mail="svc-mail@acme.example"),
        # a '+' must be sent as %2B
        graph_user(5, userPrincipalName="a+b@acme.example", mail="a+b@acme.example"),
    ]
    sb = Sandbox(work, {"graph": {"users": users}})
    rb = runbook([{"select": {"kind": "graph"}, "steps": ["freeze"]}])
    d = Daemon(work, sb, runbooks=[rb], extra=add_targets(entra=graph_target(sb))).start()
    try:
        evs = [("E0001", leaver_n(1)),
               ("E0002", leaver("E0002", "nobody2@acme.example")),
               ("E0003", leaver("E0003", "o'brien@acme.example")),
               ("E0004", leaver("E0004", "someone4@acme.example")),
               ("E0005", leaver("E0005", "a+b@acme.example")),
               ("E9999", leaver("E9999", "ghost@acme.example"))]
        # E0004: the username is the $-UPN
        evs[3][1]["data"]["username"] = "$svc@acme.example"
        publish(d.bootstrap, evs)
        how = {}
        for emp, _ in evs:
            c = d.wait_case(emp, timeout=60)
            full = d.case(c["id"])
            st = [s for s in full["steps"] if s["target"] == "entra"][0]
            notes = [t["detail"] for t in full["timeline"] if t["kind"] == "note"]
            how[emp] = (st["state"], st["detail"], notes)
        log("resolve:", json.dumps(how, indent=1))
        assert how["E9999"][0] == "skipped" and how["E9999"][1] == "no account", how["E9999"]
        assert any("found by mail" in n for n in how["E0001"][2]), how["E0001"]
        assert any("found by employeeId" in n for n in how["E0002"][2]), how["E0002"]
        assert any("found by mail" in n for n in how["E0003"][2]), how["E0003"]
        assert any("found by username" in n for n in how["E0004"][2]), how["E0004"]
        assert any("found by username" in n for n in how["E0005"][2]), how["E0005"]
        for i in range(1, 6):
            assert how["E%04d" % i][0] == "succeeded", how
        st = sb.state()["graph"]["users"]
        assert all(u["accountEnabled"] is False for u in st), st
        # nothing but 200/204/404 answers: no malformed filter or key was sent
        bad = [e for e in sb.log() if e["target"] == "graph" and e["status"] not in (200, 204, 404)]
        assert not bad, bad
    finally:
        d.stop()
        sb.stop()


def run_twice(work, sb, targets_extra, target, accounts_of):
    """Run the leaver through one deprovd, then (a new event id, with and without the
    account id known) through two more with stores of their own, as after a lost store or
    a redelivery: the same person reaches the target again. Returns the three cases."""
    cases = []
    for round_ in range(3):
        w = work if round_ == 0 else Workdir("%s-%d" % (os.path.basename(work.path), round_))
        d = Daemon(w, sb, runbooks=[runbook([GRAPH_STEPS, GOOGLE_STEPS])],
                   extra=targets_extra).start()
        try:
            ev = leaver_n(1, accounts=accounts_of() if round_ == 2 else None)
            publish(d.bootstrap, [("E0001", ev)])
            c = d.wait_case("E0001", timeout=90)
            no_failed_steps(d, c["id"])
            cases.append(steps_of(d, c["id"], target))
        finally:
            d.stop()
            if w is not work:
                w.cleanup()
    return cases


def test_graph_idempotent(work):
    sb = Sandbox(work, {"graph": {"users": [graph_user(1)]}})
    try:
        before = None
        cases = run_twice(work, sb, add_targets(entra=graph_target(sb)), "entra",
                          lambda: {"entra": sb.state()["graph"]["users"][0]["id"]})
        log("runs:", json.dumps(cases, indent=1)[:3000])
        before = sb.state()["graph"]
        assert cases[1]["freeze"]["detail"] == "already disabled", cases[1]
        assert cases[2]["freeze"]["detail"] == "already disabled", cases[2]
        for c in cases[1:]:
            assert "already disabled" in c["deactivate"]["detail"], c
            assert c["revoke_tokens"]["state"] == "succeeded", c
        u = before["users"][0]
        assert u["accountEnabled"] is False and u["sessions"] == 0, u
        errors = [e for e in sb.log() if e["target"] == "graph" and e["status"] >= 400]
        assert not errors, errors
    finally:
        sb.stop()


def test_graph_429_storm(work):
    n = 4
    sb = Sandbox(work, {"graph": {"users": [graph_user(i) for i in range(1, n + 1)]}},
                 args=["--retry-after", "1"])
    sb.fault({"path": "/graph/v1.0/", "mode": "status", "status": 429, "rate": 0.5})
    sb.fault({"path": "/graph/v1.0/", "mode": "status", "status": 503, "rate": 0.1})
    d = Daemon(work, sb, runbooks=[runbook([GRAPH_STEPS], max_attempts=40, initial_ms=20,
                                           max_ms=200)],
               extra=add_targets(entra=graph_target(sb))).start()
    try:
        t0 = time.time()
        publish(d.bootstrap, [("E%04d" % i, leaver_n(i)) for i in range(1, n + 1)])
        for i in range(1, n + 1):
            c = d.wait_case("E%04d" % i, timeout=180)
            no_failed_steps(d, c["id"])
        st = sb.state()["graph"]["users"]
        assert all(u["accountEnabled"] is False and u["sessions"] == 0 for u in st), st
        entries = sb.log()
        throttled = [e for e in entries if e["status"] == 429]
        assert throttled, "no 429 was injected"
        # Retry-After: 1 s was honoured: a throttled call came back no sooner
        for t in throttled:
            again = [e for e in entries if e["seq"] > t["seq"] and e["method"] == t["method"]
                     and e["path"] == t["path"]]
            assert again and again[0]["ts_ms"] - t["ts_ms"] >= 900, (t, again[:1])
        log("429s:", len(throttled), "took %.1fs" % (time.time() - t0))
    finally:
        d.stop()
        sb.stop()


def test_graph_auth_flows(work):
    key, pub = gen_rsa(work)
    cert = os.path.join(work.path, "graph-cert.pem")
    subprocess.run(["openssl", "req", "-new", "-x509", "-key", key, "-out", cert, "-days", "2",
                    "-subj", "/CN=deprov-graph"], check=True, capture_output=True)
    sb = Sandbox(work, {"graph": {"users": [graph_user(1)]}},
                 args=["--graph-client-secret", GRAPH_SECRET, "--token-ttl", "3600"],
                 public_key=cert)
    token_url = sb.url + "/graph/00000000-aaaa-4000-8000-000000000001/oauth2/v2.0/token"
    secret_auth = {"type": "client_credentials", "token_url": token_url, "client_id": CLIENT_ID,
                   "scope": "https://graph.microsoft.com/.default",
                   "client_secret": GRAPH_SECRET}
    cert_auth = {"type": "client_credentials", "token_url": token_url, "client_id": CLIENT_ID,
                 "scope": ["https://graph.microsoft.com/.default"],
                 "private_key_file": key, "certificate_file": cert}
    rb = runbook([{"select": {"kind": "graph"}, "steps": ["freeze", "revoke_tokens"]}])
    d = Daemon(work, sb, runbooks=[rb],
               extra=add_targets(**{"entra-secret": graph_target(sb, secret_auth),
                                    "entra-cert": graph_target(sb, cert_auth)})).start()
    try:
        publish(d.bootstrap, [("E0001", leaver_n(1))])
        c = d.wait_case("E0001", timeout=60)
        no_failed_steps(d, c["id"])
        tokens = [e for e in sb.log() if e["target"] == "graph" and e["action"] == "token"]
        assert len([e for e in tokens if e["status"] == 200]) == 2, tokens
        assert not [e for e in tokens if e["status"] != 200], tokens
        text = d.log_text()
        assert GRAPH_SECRET not in text
        assert "sandbox-graph." not in text, "an access token was logged"
    finally:
        d.stop()
        sb.stop()


# ---- Google Workspace -----------------------------------------------------------------

def assert_google_done(sb, i, owner="boss%04d@acme.example", files=4, private=2):
    u = google_user_state(sb, "emp%04d@acme.example" % i)
    assert u["suspended"] is True, u
    assert u["tokens"] == [] and u["sessions"] == 0, u
    assert u["drive_files"] == 0 and u["private_files"] == 0, u
    m = google_user_state(sb, owner % i if "%" in owner else owner)
    assert m["drive_files"] >= files and m["private_files"] >= private, m


def test_google_steps(work):
    sb = Sandbox(work, {"google": google_seed(1)})
    d = Daemon(work, sb, runbooks=[runbook([GOOGLE_STEPS])],
               extra=add_targets(workspace=google_target(sb))).start()
    try:
        publish(d.bootstrap, [("E0001", leaver_n(1))])
        c = d.wait_case("E0001", timeout=60)
        st = steps_of(d, c["id"], "workspace")
        assert st["freeze"]["detail"] == "suspended", st
        assert "deleted 2 app token grants" in st["revoke_tokens"]["detail"], st
        assert "transferred to boss0001@acme.example" in st["reassign"]["detail"], st
        assert st["deactivate"]["state"] == "succeeded", st
        assert "no deactivation distinct from suspension" in st["deactivate"]["detail"], st
        assert_google_done(sb, 1)
        tr = sb.state()["google"]["transfers"]
        assert len(tr) == 1 and tr[0]["overallTransferStatusCode"] == "completed", tr
        assert tr[0]["files"] == 6, tr
        entries = sb.log()
        freeze_first(entries, ("google",))
        polls = [e for e in entries if e["path"].startswith("/google/admin/datatransfer/v1/"
                                                             "transfers/")]
        assert len(polls) >= 2, polls
        # polled on a timer, not back to back
        gaps = [b["ts_ms"] - a["ts_ms"] for a, b in zip(polls, polls[1:])]
        assert all(g >= 80 for g in gaps), gaps
    finally:
        d.stop()
        sb.stop()


def test_google_fallback_owner_and_no_account(work):
    sec = google_seed(2)
    # leaver 2's manager is suspended: the fallback owner gets the files
    for u in sec["users"]:
        if u["primaryEmail"] == "boss0002@acme.example":
            u["suspended"] = True
    sb = Sandbox(work, {"google": sec})
    d = Daemon(work, sb, runbooks=[runbook([GOOGLE_STEPS])],
               extra=add_targets(workspace=google_target(sb))).start()
    try:
        publish(d.bootstrap, [("E0002", leaver_n(2)),
                              ("E9999", leaver("E9999", "ghost@acme.example"))])
        c = d.wait_case("E9999", timeout=60)
        steps = d.case(c["id"])["steps"]
        assert all(s["state"] == "skipped" and s["detail"] == "no account" for s in steps), steps
        c = d.wait_case("E0002", timeout=60)
        st = steps_of(d, c["id"], "workspace")
        assert "records-admin@acme.example" in st["reassign"]["detail"], st
        assert_google_done(sb, 2, owner="records-admin@acme.example")
        notes = [t["detail"] for t in d.case(c["id"])["timeline"] if t["kind"] == "note"]
        assert any("is suspended: using the fallback owner" in n for n in notes), notes
    finally:
        d.stop()
        sb.stop()


def test_google_idempotent(work):
    sb = Sandbox(work, {"google": google_seed(1)})
    try:
        cases = run_twice(work, sb, add_targets(workspace=google_target(sb)), "workspace",
                          lambda: {"workspace": google_user_state(
                              sb, "emp0001@acme.example")["id"]})
        log("runs:", json.dumps(cases, indent=1)[:3000])
        assert cases[1]["freeze"]["detail"] == "already suspended", cases[1]
        assert cases[2]["freeze"]["detail"] == "already suspended", cases[2]
        for c in cases[1:]:
            assert "deleted 0 app token grants" in c["revoke_tokens"]["detail"], c
            assert c["reassign"]["state"] == "succeeded", c   # a new, empty transfer
            assert "no deactivation distinct" in c["deactivate"]["detail"], c
        assert_google_done(sb, 1)
        tr = sb.state()["google"]["transfers"]
        assert [t["files"] for t in tr] == [6, 0, 0], tr
        errors = [e for e in sb.log() if e["target"] == "google" and e["status"] >= 400]
        assert not errors, errors
    finally:
        sb.stop()


def test_google_rate_limits(work):
    n = 3
    sb = Sandbox(work, {"google": google_seed(n)})
    sb.fault({"path": "/google/admin/directory/", "mode": "status", "status": 403, "rate": 0.4})
    sb.fault({"path": "/google/admin/datatransfer/", "mode": "status", "status": 429,
              "rate": 0.3})
    d = Daemon(work, sb, runbooks=[runbook([GOOGLE_STEPS], max_attempts=40, initial_ms=20,
                                           max_ms=200)],
               extra=add_targets(workspace=google_target(sb))).start()
    try:
        publish(d.bootstrap, [("E%04d" % i, leaver_n(i)) for i in range(1, n + 1)])
        retries = 0
        for i in range(1, n + 1):
            c = d.wait_case("E%04d" % i, timeout=120)
            no_failed_steps(d, c["id"])
            assert_google_done(sb, i)
            retries += len([t for t in d.case(c["id"])["timeline"] if t["kind"] == "retry"])
        entries = sb.log()
        limited = [e for e in entries if e["status"] == 403 and e.get("fault")]
        assert limited, "no 403 userRateLimitExceeded was injected"
        assert retries > 0
        # the retries said why
        texts = [t["detail"] for i in range(1, n + 1)
                 for t in d.case(d.cases(subject="E%04d" % i)[0]["id"])["timeline"]
                 if t["kind"] == "retry"]
        assert any("userRateLimitExceeded" in t for t in texts), texts[:5]
    finally:
        d.stop()
        sb.stop()


def test_google_transfer_fails(work):
    sec = google_seed(1)
    for u in sec["users"]:
        if u["primaryEmail"] == "emp0001@acme.example":
            u["fail"] = True
    sb = Sandbox(work, {"google": sec})
    d = Daemon(work, sb, runbooks=[runbook([GOOGLE_STEPS])],
               extra=add_targets(workspace=google_target(sb))).start()
    try:
        publish(d.bootstrap, [("E0001", leaver_n(1))])
        c = d.wait_case("E0001", states=("escalated",), timeout=60)
        full = d.case(c["id"])
        st = steps_of(d, c["id"], "workspace")
        assert st["reassign"]["state"] == "failed", st
        assert "data transfer" in st["reassign"]["detail"], st
        assert "failed" in st["reassign"]["detail"], st
        assert "data transfer" in (full["error"] or ""), full
        # freeze and revoke still happened; the account stays suspended
        u = google_user_state(sb, "emp0001@acme.example")
        assert u["suspended"] is True and u["tokens"] == [], u
        assert u["drive_files"] == 4, u
    finally:
        d.stop()
        sb.stop()


def test_google_transfer_timeout(work):
    sb = Sandbox(work, {"google": google_seed(1, transfer_polls=1000000)})
    d = Daemon(work, sb, runbooks=[runbook([GOOGLE_STEPS])],
               extra=add_targets(workspace=google_target(
                   sb, options={"transfer_timeout_s": 2, "transfer_poll_ms": 200}))).start()
    try:
        t0 = time.time()
        publish(d.bootstrap, [("E0001", leaver_n(1))])
        c = d.wait_case("E0001", states=("escalated",), timeout=60)
        st = steps_of(d, c["id"], "workspace")
        assert st["reassign"]["state"] == "failed", st
        assert "did not complete within 2 s" in st["reassign"]["detail"], st
        polls = [e for e in sb.log() if e["path"].startswith(
            "/google/admin/datatransfer/v1/transfers/")]
        assert 3 <= len(polls) <= 15, len(polls)
        log("timed out after %.1fs with %d polls" % (time.time() - t0, len(polls)))
    finally:
        d.stop()
        sb.stop()


def test_google_resume_transfer(work):
    """A transfer left running (crash, or an earlier escalation) is resumed, not doubled."""
    sb = Sandbox(work, {"google": google_seed(1, transfer_polls=4)})
    st = sb.state()["google"]["users"]
    ids = {u["primaryEmail"]: u["id"] for u in st}
    status, body = http("POST", sb.url + "/google/admin/datatransfer/v1/transfers", {
        "oldOwnerUserId": ids["emp0001@acme.example"],
        "newOwnerUserId": ids["boss0001@acme.example"],
        "applicationDataTransfers": [{"applicationId": "55656082996",
                                      "applicationTransferParams": [
                                          {"key": "PRIVACY_LEVEL", "value": ["PRIVATE", "SHARED"]}]}]},
        headers={"Authorization": "Bearer " + SANDBOX_TOKEN})
    assert status == 200, body
    d = Daemon(work, sb, runbooks=[runbook([GOOGLE_STEPS])],
               extra=add_targets(workspace=google_target(sb))).start()
    try:
        publish(d.bootstrap, [("E0001", leaver_n(1))])
        c = d.wait_case("E0001", timeout=60)
        notes = [t["detail"] for t in d.case(c["id"])["timeline"] if t["kind"] == "note"]
        assert any("resuming data transfer " + body["id"] in n for n in notes), notes
        creates = [e for e in sb.log() if e["method"] == "POST" and
                   e["path"] == "/google/admin/datatransfer/v1/transfers"]
        assert len(creates) == 1, creates      # only ours, before deprovd
        tr = sb.state()["google"]["transfers"]
        assert len(tr) == 1 and tr[0]["overallTransferStatusCode"] == "completed", tr
        assert_google_done(sb, 1)
    finally:
        d.stop()
        sb.stop()


def test_google_service_account(work):
    key, pub = gen_rsa(work)
    sb = Sandbox(work, {"google": google_seed(1)}, public_key=pub,
                 args=["--google-client-email", GOOGLE_SA])
    keyfile = work.file("google-sa.json", {
        "type": "service_account", "project_id": "deprov-test", "private_key_id": "k1",
        "private_key": open(key).read(), "client_email": GOOGLE_SA, "client_id": "1234",
        "token_uri": sb.url + "/google/token"})
    auth = {"type": "google_service_account", "key_file": keyfile,
            "subject": "admin@acme.example",
            "scopes": ["https://www.googleapis.com/auth/admin.directory.user",
                       "https://www.googleapis.com/auth/admin.directory.user.security",
                       "https://www.googleapis.com/auth/admin.datatransfer"]}
    d = Daemon(work, sb, runbooks=[runbook([GOOGLE_STEPS])],
               extra=add_targets(workspace=google_target(sb, auth=auth))).start()
    try:
        publish(d.bootstrap, [("E0001", leaver_n(1))])
        c = d.wait_case("E0001", timeout=60)
        no_failed_steps(d, c["id"])
        assert_google_done(sb, 1)
        tokens = [e for e in sb.log() if e["target"] == "google" and e["action"] == "token"]
        assert tokens and all(e["status"] == 200 for e in tokens), tokens
        text = d.log_text()
        assert "BEGIN PRIVATE KEY" not in text and "ya29.sandbox" not in text
    finally:
        d.stop()
        sb.stop()


# ---- all targets ----------------------------------------------------------------------

def freeze_first_across(entries, targets):
    """The first successful freeze of each (target, user) comes before every other
    successful mutating call of any of them (a later freeze-labelled call of the same user,
    such as a SCIM deactivate re-sending active=false, counts as "other")."""
    seen, order = set(), []
    for e in entries:
        kind = (e.get("target") or "").split(":")[0]      # "scim:slack" is a scim target
        if kind not in targets or e.get("action") not in MUTATING or \
                not 200 <= e["status"] < 300:
            continue
        e = dict(e, target=kind)
        key = (kind, e.get("user"))
        first = e["action"] == "freeze" and key not in seen
        if e["action"] == "freeze":
            seen.add(key)
        order.append(("freeze" if first else "other", e))
    freezes = [i for i, (k, _) in enumerate(order) if k == "freeze"]
    others = [i for i, (k, _) in enumerate(order) if k == "other"]
    assert freezes and others, order
    assert max(freezes) < min(others), [(k, e["target"], e["action"], e["seq"])
                                        for k, e in order]
    return {e["target"] for k, e in order if k == "freeze"}


def test_all_targets(work):
    """Salesforce + Okta + Slack (SCIM) + Graph + Google for one leaver: the case
    completes, and the sandbox log shows every target's freeze before any target's other
    steps. Needs the SCIM and Okta connectors (src/connectors/scim.c, okta.c)."""
    from harness import SOURCE_DIR, seed_people
    for f in ("scim.c", "okta.c"):
        if not os.path.exists(os.path.join(SOURCE_DIR, "src", "connectors", f)):
            log("SKIP: src/connectors/%s is not there yet" % f)
            sys.exit(77)
    seed = seed_people(1)
    seed["okta"] = {"users": [{"login": "emp0001@acme.example", "email": "emp0001@acme.example",
                               "status": "ACTIVE"}]}
    seed["scim"] = {"slack": {"users": [{"userName": "emp0001@acme.example",
                                         "externalId": "E0001",
                                         "email": "emp0001@acme.example", "active": True}]}}
    seed["graph"] = {"users": [graph_user(1)]}
    seed["google"] = google_seed(1)
    sb = Sandbox(work, seed)
    targets = {
        "okta": {"kind": "okta", "base_url": sb.url + "/okta",
                 "auth": {"type": "ssws", "token": SANDBOX_TOKEN}, "limits": dict(LIMITS)},
        "slack": {"kind": "scim", "base_url": sb.url + "/scim/slack/v2",
                  "auth": {"type": "bearer", "token": SANDBOX_TOKEN}, "limits": dict(LIMITS),
                  "options": {"preset": "slack"}},
        "entra": graph_target(sb),
        "workspace": google_target(sb),
    }
    rb = runbook([
        {"select": {"kind": "salesforce"},
         "steps": ["freeze", "revoke_tokens",
                   {"step": "reassign", "to": "manager",
                    "fallback_owner": "records-admin@acme.example",
                    "objects": ["Account", "Opportunity", "Case"]}, "deactivate"]},
        {"select": {"kind": "okta"}, "steps": ["freeze", "revoke_tokens", "deactivate"]},
        {"select": {"kind": "scim"}, "steps": ["freeze", "deactivate"]},
        GRAPH_STEPS, GOOGLE_STEPS])
    d = Daemon(work, sb, runbooks=[rb], extra=add_targets(**targets)).start()
    try:
        publish(d.bootstrap, [("E0001", leaver_n(1))])
        c = d.wait_case("E0001", states=("completed", "escalated"), timeout=120)
        full = d.case(c["id"])
        log("steps:", json.dumps([(s["target"], s["step"], s["state"], s["detail"])
                                  for s in full["steps"]], indent=1))
        assert c["state"] == "completed", full
        no_failed_steps(d, c["id"])
        names = {s["target"] for s in full["steps"]}
        assert names == {"salesforce-prod", "okta", "slack", "entra", "workspace"}, names
        frozen = [s for s in full["steps"] if s["step"] == "freeze"]
        assert all(s["state"] == "succeeded" for s in frozen), frozen
        # the engine's order: every freeze finished before any other step started
        last_freeze = max(s["finished_ms"] for s in frozen)
        first_other = min(s["started_ms"] for s in full["steps"] if s["step"] != "freeze")
        assert last_freeze <= first_other, (last_freeze, first_other)
        # and what the targets saw
        got = freeze_first_across(sb.log(), ("salesforce", "okta", "scim", "graph", "google"))
        assert got == {"salesforce", "okta", "scim", "graph", "google"}, got
        assert graph_user_state(sb, "emp0001@acme.example")["accountEnabled"] is False
        assert_google_done(sb, 1)
    finally:
        d.stop()
        sb.stop()


TESTS = {name[5:]: fn for name, fn in list(globals().items()) if name.startswith("test_")}

if __name__ == "__main__":
    main(TESTS)
