#!/usr/bin/env python3
"""Core engine integration tests: the real deprovd against the embedded Kafka
mock cluster and deprov-sandbox. Run one test: it_core.py --build DIR NAME."""

import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
from harness import (ADMIN_TOKEN, API_TOKEN, CLIENT_ID, RESPONDER_TOKEN, KafkaMock, emergency_runbook,
                     unfreeze_runbook, INTEGRATION_USER, SANDBOX_TOKEN, Daemon,  # noqa: E402
                     Sandbox, build_dir, consume, find_user, gen_rsa, leaver, leaver_for, log,
                     main, owner_counts, publish, run, seed_people, standard_runbook, user_id,
                     wait_for)

MUTATING = ("freeze", "revoke", "reassign", "deactivate")


def assert_user_done(sb, i, manager_uid, owned):
    u = sb.user(user_id(i))
    assert u["IsFrozen"] is True, u
    assert u["IsActive"] is False, u
    assert u["tokens"] == 0, u
    st = sb.state()
    left = owner_counts(st, user_id(i))
    assert sum(left.values()) == 0, ("records still owned by leaver", left)
    got = owner_counts(st, manager_uid)
    for t, n in owned.items():
        assert got.get(t, 0) == n, ("manager owns", got, "expected", owned)


def freeze_first(entries, uid):
    """Every freeze of uid comes before any other mutating call for uid."""
    mine = [e for e in entries if e.get("user") == uid and e.get("action") in MUTATING
            and 200 <= e["status"] < 300]
    assert mine, "no mutating calls for %s" % uid
    seen_other = False
    for e in mine:
        if e["action"] == "freeze":
            assert not seen_other, "freeze after another step for %s" % uid
        else:
            seen_other = True
    assert mine[0]["action"] == "freeze", mine[0]
    return mine


def test_single_leaver(work):
    owned = {"Account": 3, "Opportunity": 2, "Case": 1}
    sb = Sandbox(work, seed_people(1, owned=owned))
    d = Daemon(work, sb).start()
    try:
        publish(d.bootstrap, [("E0001", leaver_for(1))])
        c = d.wait_case("E0001", timeout=60)
        assert c["state"] == "completed", c
        assert_user_done(sb, 1, user_id(500001), owned)
        full = d.case(c["id"])
        steps = {(s["target"], s["step"]): s for s in full["steps"]}
        for name in ("freeze", "revoke_tokens", "reassign", "deactivate"):
            assert steps[("salesforce-prod", name)]["state"] == "succeeded", steps
        assert full["frozen_ms"] and full["completed_ms"], full
        assert full["frozen_ms"] <= full["completed_ms"]
        states = [t["detail"] for t in full["timeline"] if t["kind"] == "state"]
        assert states == ["freezing", "contained", "remediating", "deactivating", "completed"], states
        freeze_first(sb.log(), user_id(1))
        assert d.stop() == 0
    finally:
        d.stop()
        sb.stop()


def test_reassign_450(work):
    owned = {"Account": 250, "Opportunity": 120, "Case": 80}
    sb = Sandbox(work, seed_people(1, owned=owned), args=["--query-page", "200"])
    d = Daemon(work, sb, runbooks=[standard_runbook(objects=["Account", "Opportunity", "Case"])])
    d.start()
    try:
        publish(d.bootstrap, [("E0001", leaver_for(1))])
        d.wait_case("E0001", timeout=90)
        assert_user_done(sb, 1, user_id(500001), owned)
        batches = [e for e in sb.log() if e["action"] == "reassign"]
        sizes = [e["count"] for e in batches]
        assert sum(sizes) == 450, sizes
        assert max(sizes) <= 200, sizes
        assert len(batches) >= 4, sizes   # 250 Accounts need two batches
        log("reassign batches:", sizes)
    finally:
        d.stop()
        sb.stop()


def test_faults_503_429(work):
    n = 5
    sb = Sandbox(work, seed_people(n))
    sb.fault({"path": "/services/", "mode": "status", "status": 503, "rate": 0.3})
    sb.fault({"path": "/services/data/", "mode": "status", "status": 429, "rate": 0.1})
    d = Daemon(work, sb, runbooks=[standard_runbook(max_attempts=30, initial_ms=20, max_ms=200)])
    d.start()
    try:
        publish(d.bootstrap, [("E%04d" % i, leaver_for(i)) for i in range(1, n + 1)])
        retries = 0
        for i in range(1, n + 1):
            c = d.wait_case("E%04d" % i, timeout=120)
            full = d.case(c["id"])
            retries += sum(max(0, s["attempts"] - 1) for s in full["steps"])
            retries += len([t for t in full["timeline"] if t["kind"] == "retry"])
            assert_user_done(sb, i, user_id(500000 + i), {"Account": 3, "Opportunity": 2, "Case": 1})
        faulted = [e for e in sb.log() if e.get("fault")]
        log("faulted requests:", len(faulted), "retries recorded:", retries)
        assert faulted, "no fault was injected"
        assert retries > 0, "retries are not visible in the case"
    finally:
        d.stop()
        sb.stop()


def test_timeouts_and_resets(work):
    sb = Sandbox(work, seed_people(2))
    sb.fault({"path": "/services/data/", "mode": "timeout", "count": 2})
    sb.fault({"path": "/services/oauth2/revoke", "mode": "reset", "count": 2})
    limits = {"rate_per_sec": 100, "burst": 50, "concurrency": 8, "timeout_ms": 700,
              "connect_timeout_ms": 500}
    d = Daemon(work, sb, limits=limits,
               runbooks=[standard_runbook(max_attempts=10, initial_ms=20, max_ms=200)]).start()
    try:
        publish(d.bootstrap, [("E0001", leaver_for(1)), ("E0002", leaver_for(2))])
        for i in (1, 2):
            d.wait_case("E%04d" % i, timeout=90)
            assert_user_done(sb, i, user_id(500000 + i), {"Account": 3, "Opportunity": 2, "Case": 1})
        modes = sorted(set(e["fault"] for e in sb.log() if e.get("fault")))
        log("faults seen:", modes)
        assert len(modes) >= 2, modes
    finally:
        d.stop()
        sb.stop()


def test_duplicate_event(work):
    sb = Sandbox(work, seed_people(1))
    d = Daemon(work, sb).start()
    try:
        ev = leaver_for(1, eid="dup-event-1")
        publish(d.bootstrap, [("E0001", ev), ("E0001", ev)])
        d.wait_case("E0001")
        time.sleep(1.0)
        publish(d.bootstrap, [("E0001", ev)])
        time.sleep(1.5)
        cases = d.cases(subject="E0001")
        assert len(cases) == 1, cases
        freezes = [e for e in sb.log() if e["action"] == "freeze" and e["status"] < 300]
        assert len(freezes) == 1, freezes
    finally:
        d.stop()
        sb.stop()


def test_malformed_event(work):
    sb = Sandbox(work, seed_people(2))
    d = Daemon(work, sb).start()
    try:
        bad_type = leaver_for(2)
        bad_type["type"] = "io.deprov.unknown"
        no_id = leaver_for(2)
        del no_id["id"]
        publish(d.bootstrap, [("X", "this is not json"), ("X", "{\"specversion\":\"1.0\""),
                              ("E0002", bad_type), ("E0002", no_id), ("[]", "[]"),
                              ("E0001", leaver_for(1))])
        d.wait_case("E0001")
        assert d.proc.poll() is None
        def dead_letters():
            got = [l for l in consume(d.bootstrap, "deprov.dlq").splitlines() if l.strip()]
            return got if len(got) >= 5 else None
        dlq = wait_for(dead_letters, 30, "5 dead letters", 0.5)
        log("dead letters:", len(dlq))
        assert len(dlq) == 5, dlq
        assert all("deprov-reason=" in l for l in dlq), dlq
        # The embedded cluster's host handle has no brokers on purpose: no
        # warning about it in the log.
        assert "No `bootstrap.servers` configured" not in d.log_text()
        # The reason says where the text stops being JSON.
        assert any("not JSON at byte 1 ('h')" in l for l in dlq), dlq
        assert any("not JSON: it ends at byte 20 before the value does" in l for l in dlq), dlq
        assert any("missing id" in l for l in dlq), dlq
        assert any("unknown event type" in l for l in dlq), dlq
        assert any("deprov-offset=" in l for l in dlq), dlq
        # Consumption moved on: a later valid event is processed too.
        publish(d.bootstrap, [("E0002", leaver_for(2))])
        d.wait_case("E0002")
    finally:
        d.stop()
        sb.stop()


def test_crash_resume(work):
    n = 4
    sb = Sandbox(work, seed_people(n), args=["--latency-ms", "150"])
    d = Daemon(work, sb)
    try:
        d.start()
        publish(d.bootstrap, [("E%04d" % i, leaver_for(i)) for i in range(1, n + 1)])
        # Kill once every leaver has its case (the embedded Kafka dies with
        # the process: an event not yet in the store would be gone) and some
        # work has reached the sandbox, but before everything is done.
        wait_for(lambda: len(d.cases()) == n, 60, "a case for every leaver")
        wait_for(lambda: any(e["action"] in ("revoke", "reassign") for e in sb.log()), 60,
                 "remediation to start")
        states = sorted(c["state"] for c in d.cases())
        d.kill9()
        log("states just before kill -9:", states)
        d.start(wait_ready=False)
        for i in range(1, n + 1):
            d.wait_case("E%04d" % i, timeout=120)
            assert_user_done(sb, i, user_id(500000 + i), {"Account": 3, "Opportunity": 2, "Case": 1})
        assert len(d.cases()) == n
        entries = sb.log()
        for i in range(1, n + 1):
            freeze_first(entries, user_id(i))
        assert "resumed" in d.log_text()
    finally:
        d.stop()
        sb.stop()


def test_freeze_lane_across_cases(work):
    """Events queued before the daemon starts: every freeze before any remediation."""
    n = 12
    # Every event is in a cluster of its own before deprovd starts, and each
    # answer takes 200 ms: all the cases are in the engine before the first
    # freeze is answered, however the fetches split them and however loaded
    # the machine is, so the order seen is the lanes' alone.
    sb = Sandbox(work, seed_people(n), args=["--latency-ms", "200"])
    mock = KafkaMock(work)
    publish(mock.bootstrap, [("E%04d" % i, leaver_for(i)) for i in range(1, n + 1)])
    d2 = Daemon(work, sb, limits={"rate_per_sec": 1000, "burst": 100, "concurrency": 4,
                                  "timeout_ms": 5000}, brokers=mock.bootstrap)
    try:
        d2.start(wait_ready=False)
        for i in range(1, n + 1):
            d2.wait_case("E%04d" % i, timeout=120)
        entries = [e for e in sb.log() if e["action"] in MUTATING and e["status"] < 300]
        first_other = min(k for k, e in enumerate(entries) if e["action"] != "freeze")
        last_freeze = max(k for k, e in enumerate(entries) if e["action"] == "freeze")
        log("last freeze at", last_freeze, "first other step at", first_other)
        assert last_freeze < first_other, "a remediation call came before a freeze"
    finally:
        d2.stop()
        sb.stop()
        mock.stop()


def test_request_limit_exceeded(work):
    """403 REQUEST_LIMIT_EXCEEDED: the whole target waits limit_backoff_ms, then goes on."""
    sb = Sandbox(work, seed_people(1))
    sb.fault({"path": "/services/data/", "mode": "status", "status": 403, "count": 1})
    d = Daemon(work, sb).start()   # limit_backoff_ms 2000 in the harness
    try:
        publish(d.bootstrap, [("E0001", leaver_for(1))])
        d.wait_case("E0001", timeout=60)
        entries = [e for e in sb.log() if e["path"].startswith("/services/")]
        k = next(i for i, e in enumerate(entries) if e["status"] == 403)
        assert k + 1 < len(entries), entries
        gap = entries[k + 1]["ts_ms"] - entries[k]["ts_ms"]
        log("wait after REQUEST_LIMIT_EXCEEDED: %d ms" % gap)
        assert gap >= 1900, gap
        assert_user_done(sb, 1, user_id(500001), {"Account": 3, "Opportunity": 2, "Case": 1})
    finally:
        d.stop()
        sb.stop()


def test_escalation(work):
    sb = Sandbox(work, seed_people(1))
    sb.fault({"path": "/services/data/v60.0/sobjects/UserLogin/", "mode": "status",
              "status": 503})
    d = Daemon(work, sb, runbooks=[standard_runbook(max_attempts=3, initial_ms=10, max_ms=50)])
    d.start()
    try:
        publish(d.bootstrap, [("E0001", leaver_for(1))])
        c = d.wait_case("E0001", states=("escalated",), timeout=60)
        full = d.case(c["id"])
        fr = [s for s in full["steps"] if s["step"] == "freeze"][0]
        assert fr["state"] == "failed", fr
        assert fr["attempts"] >= 3, fr
        assert "503" in (fr["last_error"] or ""), fr
        assert "503" in (full["error"] or ""), full
        others = [s for s in full["steps"] if s["step"] != "freeze"]
        assert all(s["state"] == "skipped" for s in others), others
        u = sb.user(user_id(1))
        assert u["IsActive"] is True and u["IsFrozen"] is False, u
    finally:
        d.stop()
        sb.stop()


def test_no_account_and_fallback_owner(work):
    seed = seed_people(2)
    sb = Sandbox(work, seed)
    d = Daemon(work, sb).start()
    try:
        ghost = leaver("E9999", "ghost@acme.example")
        nomgr = leaver_for(2, manager=None)
        publish(d.bootstrap, [("E9999", ghost), ("E0002", nomgr)])
        c = d.wait_case("E9999", timeout=60)
        steps = d.case(c["id"])["steps"]
        assert all(s["state"] == "skipped" for s in steps), steps
        assert all("no account" in (s["detail"] or "") for s in steps), steps
        d.wait_case("E0002", timeout=60)
        st = sb.state()
        admin = find_user(st, "records-admin@acme.example")
        got = owner_counts(st, admin["Id"])
        assert got == {"Account": 3, "Opportunity": 2, "Case": 1} or \
            all(got.get(k, 0) == v for k, v in {"Account": 3, "Opportunity": 2, "Case": 1}.items()), got
    finally:
        d.stop()
        sb.stop()


def test_jwt_bearer_and_no_secrets_in_logs(work):
    key, pub = gen_rsa(work)
    sb = Sandbox(work, seed_people(2), public_key=pub, args=["--token-ttl", "3"])
    auth = {"type": "jwt_bearer", "client_id": CLIENT_ID, "username": INTEGRATION_USER,
            "private_key_file": key, "token_url": sb.url + "/services/oauth2/token",
            "audience": "https://login.salesforce.com"}
    d = Daemon(work, sb, auth=auth).start()
    try:
        publish(d.bootstrap, [("E0001", leaver_for(1))])
        d.wait_case("E0001", timeout=60)
        time.sleep(3.5)   # the issued token expires: 401 INVALID_SESSION_ID, then a new one
        publish(d.bootstrap, [("E0002", leaver_for(2))])
        d.wait_case("E0002", timeout=60)
        entries = sb.log()
        tokens = [e for e in entries if e["action"] == "token" and e["status"] == 200]
        assert 1 <= len(tokens) <= 4, tokens
        assert len(tokens) >= 2, "token was not renewed after expiry"
        assert any(e["status"] == 401 for e in entries), "expired token never rejected"
        text = d.log_text()
        with open(key) as f:
            pem_body = f.read().splitlines()[1]
        for secret in (pem_body, SANDBOX_TOKEN, "BEGIN PRIVATE KEY"):
            assert secret not in text, "secret leaked into the log: %s..." % secret[:8]
        assert "tok-" not in text and "access_token\":\"0" not in text
        for line in text.splitlines():
            assert line.startswith("{"), line
    finally:
        d.stop()
        sb.stop()


def test_bearer_not_logged(work):
    sb = Sandbox(work, seed_people(1))
    sb.fault({"path": "/services/data/", "mode": "status", "status": 401, "count": 1})
    d = Daemon(work, sb).start()
    try:
        publish(d.bootstrap, [("E0001", leaver_for(1))])
        d.wait_case("E0001", timeout=60)
        text = d.log_text()
        assert SANDBOX_TOKEN not in text
        assert API_TOKEN not in text
    finally:
        d.stop()
        sb.stop()


def test_check(work):
    deprovd = os.path.join(build_dir(), "deprovd")
    key, _ = gen_rsa(work)
    runbooks = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", "runbooks"))
    good = work.file("good.json", """{
  "store": { "path": "var/deprov.db" },
  "runbooks": "%s",
  "kafka": { "brokers": "embedded" },
  "targets": {
    "salesforce-prod": { "kind": "salesforce", "base_url": "https://acme.my.salesforce.com",
      "auth": { "type": "jwt_bearer", "client_id": "c", "username": "u@acme.example",
                "private_key_file": "%s",
                "token_url": "https://login.salesforce.com/services/oauth2/token" } }
  }
}
""" % (runbooks, key))
    r = subprocess.run([deprovd, "--config", good, "--check"], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    work.file("rb/10-bad.json", """{
  "name": "bad",
  "match": { "type": ["io.deprov.leaver"] },
  "targets": [
    { "select": { "kind": "salesforce" },
      "steps": [ "freeze", "fooze" ] }
  ]
}
""")
    cfg = work.file("bad.json", """{
  // comments are allowed
  "store": { "path": "var/x.db" },
  "runbooks": "rb",
  "colour": "blue",
  "kafka": { "brokers": "embedded", "topics": "hr.leavers" },
  "targets": {
    "sf": { "kind": "salesforce", "base_url": "http://127.0.0.1:1",
            "auth": { "type": "bearer", "token": "x" } },
    "odd": { "kind": "mainframe", "base_url": "http://127.0.0.1:1" }
  }
}
""")
    r = subprocess.run([deprovd, "--config", cfg, "--check"], capture_output=True, text=True)
    log("check output:\n" + r.stderr)
    assert r.returncode == 2, (r.returncode, r.stderr)
    lines = r.stderr.strip().splitlines()
    assert any(l.startswith(cfg + ":5:") and "colour" in l for l in lines), lines
    assert any(l.startswith(cfg + ":6:") and "topics" in l for l in lines), lines
    assert any(l.startswith(cfg + ":10:") and "mainframe" in l for l in lines), lines
    r2 = subprocess.run([deprovd, "--config", os.path.join(work.path, "missing.json"), "--check"],
                        capture_output=True, text=True)
    assert r2.returncode == 2 and "missing.json" in r2.stderr, r2.stderr
    rb_cfg = work.file("rbonly.json", """{
  "store": { "path": "var/x.db" },
  "runbooks": "rb",
  "kafka": { "brokers": "embedded" },
  "targets": { "sf": { "kind": "salesforce", "base_url": "http://127.0.0.1:1",
                       "auth": { "type": "none" } } }
}
""")
    r = subprocess.run([deprovd, "--config", rb_cfg, "--check"], capture_output=True, text=True)
    assert r.returncode == 2, r.stderr
    assert any("10-bad.json:6:" in l and "fooze" in l
               for l in r.stderr.splitlines()), r.stderr


def test_check_connector_options(work):
    """deprovd --check asks each target's kind about its options and about
    the runbook steps it would run: a typo in an option key or a preset, an
    object a kind cannot reassign and an entry none of whose steps its kind
    does are errors with file:line; a step a kind skips is a warning, and a
    configuration with warnings alone is ok."""
    deprovd = os.path.join(build_dir(), "deprovd")
    work.file("rbx/10-leaver.json", """{
  "name": "leaver",
  "match": { "type": ["io.deprov.leaver"] },
  "targets": [
    { "select": { "kind": "salesforce" },
      "steps": [ "freeze", { "step": "reassign", "objects": ["Account", "Drvie"] } ] },
    { "select": { "kind": "google" },
      "steps": [ "freeze", { "step": "reassign", "objects": ["Drvie"] } ] },
    { "select": { "name": "okta" },
      "steps": [ { "step": "reassign", "objects": ["Account"] } ] },
    { "select": { "name": "*" }, "steps": [ "freeze", "revoke_tokens" ] }
  ]
}
""")
    cfg = work.file("opts.json", """{
  "store": { "path": "var/x.db" },
  "runbooks": "rbx",
  "kafka": { "brokers": "embedded" },
  "targets": {
    "sf": { "kind": "salesforce", "base_url": "http://127.0.0.1:1",
            "auth": { "type": "none" } },
    "slack": { "kind": "scim", "base_url": "http://127.0.0.1:1",
               "options": { "preset": "slak", "patch_stlye": "path" } },
    "ws": { "kind": "google", "base_url": "http://127.0.0.1:1",
            "options": { "transfer_poll_msec": 100 } },
    "okta": { "kind": "okta", "base_url": "http://127.0.0.1:1" }
  }
}
""")
    rb = os.path.join(work.path, "rbx", "10-leaver.json")
    r = subprocess.run([deprovd, "--config", cfg, "--check"], capture_output=True, text=True)
    log("check output:\n" + r.stderr)
    assert r.returncode == 2, (r.returncode, r.stderr)
    lines = r.stderr.strip().splitlines()
    want = [
        (cfg + ":9:", 'targets.slack.options.preset: unknown preset \'slak\' (did you mean \'slack\'?)'),
        (cfg + ":9:", 'targets.slack.options: unknown key "patch_stlye" (did you mean "patch_style"?)'),
        (cfg + ":11:", 'targets.ws.options: unknown key "transfer_poll_msec" '
                       '(did you mean "transfer_poll_ms"?)'),
        (rb + ":6:", 'targets[0].steps[1].objects[1]: "Drvie" is not an object salesforce reassigns'),
        (rb + ":8:", 'targets[1].steps[1].objects[0]: "Drvie" is not a Data Transfer application '
                     'google transfers (did you mean "Drive"?)'),
        (rb + ":9:", 'targets[2]: no step of it runs at target "okta" (kind okta): "reassign" is '
                     'skipped (Okta holds no owned records to reassign)'),
        (rb + ":11:", 'warning: targets[3].steps[1]: "revoke_tokens" is skipped at target "slack" '
                      '(kind scim): SCIM has no token revocation'),
    ]
    for where, text in want:
        assert any(l.startswith(where) and text in l for l in lines), (where, text, lines)

    # Fixed: the warning stays, the check passes.
    work.file("rbx/10-leaver.json", """{
  "name": "leaver",
  "match": { "type": ["io.deprov.leaver"] },
  "targets": [
    { "select": { "kind": "salesforce" },
      "steps": [ "freeze", { "step": "reassign", "objects": ["Account", "Invoice__c"] } ] },
    { "select": { "kind": "google" },
      "steps": [ "freeze", { "step": "reassign", "objects": ["Drive"] } ] },
    { "select": { "name": "okta" }, "steps": [ "freeze", "deactivate" ] },
    { "select": { "name": "*" }, "steps": [ "freeze", "revoke_tokens" ] }
  ]
}
""")
    work.file("opts.json", """{
  "store": { "path": "var/x.db" },
  "runbooks": "rbx",
  "kafka": { "brokers": "embedded" },
  "targets": {
    "sf": { "kind": "salesforce", "base_url": "http://127.0.0.1:1",
            "auth": { "type": "none" } },
    "slack": { "kind": "scim", "base_url": "http://127.0.0.1:1",
               "options": { "preset": "slack", "patch_style": "path" } },
    "ws": { "kind": "google", "base_url": "http://127.0.0.1:1",
            "options": { "transfer_poll_ms": 100 } },
    "okta": { "kind": "okta", "base_url": "http://127.0.0.1:1" }
  }
}
""")
    r = subprocess.run([deprovd, "--config", cfg, "--check"], capture_output=True, text=True)
    log("check output:\n" + r.stderr)
    assert r.returncode == 0, (r.returncode, r.stderr)
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 2, lines
    assert lines[0].startswith(rb + ":10: warning: targets[3].steps[1]: \"revoke_tokens\""), lines
    assert lines[1] == cfg + ": ok (4 targets, 1 runbooks)", lines
    # deprovctl check: the same warning, and ok.
    c = subprocess.run([os.path.join(build_dir(), "deprovctl"), "check", "--config", cfg],
                       capture_output=True, text=True)
    assert c.returncode == 0, (c.returncode, c.stderr)
    assert c.stderr.strip().splitlines() == lines[:1], (c.stderr, lines)
    assert c.stdout.startswith(cfg + ": ok"), c.stdout


def test_api_roles_freeze_unfreeze(work):
    sb = Sandbox(work, seed_people(2))
    d = Daemon(work, sb, runbooks=[emergency_runbook(), standard_runbook(),
                                   unfreeze_runbook()]).start()
    try:
        body = {"subject": {"email": "emp0001@acme.example"}, "reason": "INC-123"}
        # 401 without or with an unknown token, 403 below the role.
        assert d.call("GET", "/v1/cases")[0] == 401
        assert d.call("GET", "/v1/cases", token="nope")[0] == 401
        st, err = d.call("POST", "/v1/freeze", body, token=API_TOKEN)
        assert st == 403 and err["error"] == "forbidden", (st, err)
        # The answer says which role is needed and which the token has.
        assert "needs the responder role" in err["detail"] and "has viewer" in err["detail"], err
        # A state filter that is no state is refused, not answered with nothing.
        st, err = d.call("GET", "/v1/cases?state=bogus", token=API_TOKEN)
        assert st == 400 and "not a case state" in err["detail"], (st, err)
        assert "escalated" in err["detail"], err
        assert d.call("GET", "/v1/cases?state=completed", token=API_TOKEN)[0] == 200
        st, err = d.call("POST", "/v1/cases/1/retry", token=RESPONDER_TOKEN)
        assert st == 403 and err["error"] == "forbidden", (st, err)
        # Bad bodies get a JSON 4xx and the daemon keeps serving.
        for bad in (b"not json", b"[1]", b"{}", b'{"subject":{},"reason":"x"}',
                    b'{"subject":{"email":"a@b"}}', b'{"subject":{"email":"a@b"},"reason":"x","x":1}',
                    b'{"subject":{"email":"a@b"},"reason":"x","targets":["nope"]}'):
            st, err = d.call("POST", "/v1/freeze", bad, token=RESPONDER_TOKEN)
            assert st == 400 and "error" in err and "detail" in err, (bad, st, err)
        st, err = d.call("POST", "/v1/freeze", b"x" * (200 * 1024), token=RESPONDER_TOKEN)
        assert st == 413 or st >= 400, st
        assert d.call("GET", "/nope", token=API_TOKEN)[0] == 404
        assert d.call("DELETE", "/v1/cases", token=API_TOKEN)[0] == 405
        # Emergency freeze: 202 with a case id, frozen and tokens revoked, not deactivated.
        st, r = d.call("POST", "/v1/freeze", body, token=RESPONDER_TOKEN)
        assert st == 202, (st, r)
        c = d.wait_case("emp0001@acme.example", timeout=30)
        assert c["id"] == r["case_id"] and c["runbook"] == "emergency-freeze", c
        assert c["urgent"] is True and c["reason"] == "INC-123", c
        u = sb.user(user_id(1))
        assert u["IsFrozen"] is True and u["IsActive"] is True and u["tokens"] == 0, u
        timeline = d.case(c["id"])["timeline"]
        assert any(t["kind"] == "received" for t in timeline), timeline
        # Unfreeze the false positive.
        st, r2 = d.call("POST", "/v1/unfreeze", body, token=RESPONDER_TOKEN)
        assert st == 202, (st, r2)
        wait_for(lambda: d.case(r2["case_id"])["state"] == "completed", 30, "unfreeze")
        assert sb.user(user_id(1))["IsFrozen"] is False
        # Admin actions: cancel a completed case is a conflict; unknown case 404.
        st, err = d.call("POST", "/v1/cases/%d/cancel" % c["id"], {"reason": "INC-123"},
                         token=ADMIN_TOKEN)
        assert st == 409, (st, err)
        assert d.call("POST", "/v1/cases/9999/retry", token=ADMIN_TOKEN)[0] == 404
        assert d.call("GET", "/healthz")[0] == 200
        assert SANDBOX_TOKEN not in d.log_text() and RESPONDER_TOKEN not in d.log_text()
    finally:
        d.stop()
        sb.stop()


def test_emergency_ahead_of_backlog(work):
    """An emergency freeze issued while 2,000 leavers are queued reaches the
    target before the backlog's remaining freezes."""
    n = 2000
    seed = {"users": [{"Username": "records-admin@acme.example",
                       "Email": "records-admin@acme.example", "IsActive": True}],
            "generate": [{"prefix": "emp", "count": n + 1, "domain": "acme.example",
                          "tokens": 1, "owned": {"Account": 1}}]}
    sb = Sandbox(work, seed, args=["--latency-ms", "5", "--api-limit", "10000000"])
    d = Daemon(work, sb, runbooks=[emergency_runbook(), standard_runbook()],
               limits={"rate_per_sec": 0, "burst": 100, "concurrency": 4, "timeout_ms": 10000})
    try:
        d.start()
        publish(d.bootstrap, [("E%04d" % i, leaver("E%04d" % i, "emp%04d@acme.example" % i))
                              for i in range(1, n + 1)])
        # The backlog is running: some freezes have landed, most are queued.
        wait_for(lambda: len([e for e in sb.log() if e["action"] == "freeze"]) >= 50, 60,
                 "the backlog to start freezing")
        t0 = time.time()
        st, r = d.call("POST", "/v1/freeze", {"subject": {"email": "emp%04d@acme.example" % (n + 1)},
                                               "reason": "INC-42"}, token=RESPONDER_TOKEN)
        assert st == 202, (st, r)
        c = wait_for(lambda: d.case(r["case_id"])["frozen_ms"], 60, "the emergency freeze")
        log("emergency freeze acknowledged %.0f ms after the request" % ((c - t0 * 1000)))
        target = sb.user("emp%04d@acme.example" % (n + 1))["Id"]
        wait_for(lambda: len([e for e in sb.log() if e["action"] == "freeze"]) >= n + 1, 300,
                 "every freeze")
        freezes = [e for e in sb.log() if e["action"] == "freeze" and e["status"] < 300]
        k = next(i for i, e in enumerate(freezes) if e["user"] == target)
        after = len(freezes) - 1 - k
        log("backlog freezes before the emergency one: %d, after it: %d" % (k, after))
        assert after > n // 2, (k, after)
    finally:
        d.stop()
        sb.stop()


def test_graceful_stop(work):
    sb = Sandbox(work, seed_people(1))
    d = Daemon(work, sb).start()
    try:
        publish(d.bootstrap, [("E0001", leaver_for(1))])
        d.wait_case("E0001")
        t0 = time.time()
        rc = d.stop()
        assert rc == 0, rc
        assert time.time() - t0 < 15
        assert '"stopped"' in d.log_text() or "stopped" in d.log_text()
    finally:
        d.stop()
        sb.stop()


TESTS = {f.__name__[5:]: f for f in [
    test_single_leaver, test_reassign_450, test_faults_503_429, test_timeouts_and_resets,
    test_duplicate_event, test_malformed_event, test_crash_resume, test_freeze_lane_across_cases,
    test_request_limit_exceeded, test_escalation, test_no_account_and_fallback_owner, test_jwt_bearer_and_no_secrets_in_logs,
    test_bearer_not_logged, test_check, test_check_connector_options, test_api_roles_freeze_unfreeze,
    test_emergency_ahead_of_backlog, test_graceful_stop]}

if __name__ == "__main__":
    main(TESTS)
