#!/usr/bin/env python3
"""Operations integration tests: the tamper-evident audit trail and deprovctl
against a real deprovd (embedded Kafka mock cluster) and deprov-sandbox.
Run one test: it_ops.py --build DIR NAME."""

import hashlib
import json
import os
import re
import sqlite3
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
from harness import (ADMIN_TOKEN, API_TOKEN, RESPONDER_TOKEN, SANDBOX_TOKEN,  # noqa: E402
                     Daemon, Sandbox, build_dir, emergency_runbook, free_port, gen_cert,
                     leaver_for, log, publish, main, run, seed_people, standard_runbook,
                     tls_config, unfreeze_runbook, user_id, wait_for)

ZERO = "0" * 64
SECRETS = (SANDBOX_TOKEN, API_TOKEN, RESPONDER_TOKEN, ADMIN_TOKEN)


def ctl(*args, token=None, api=None, env=None, timeout=60):
    """Run deprovctl; returns CompletedProcess with text output."""
    e = dict(os.environ)
    e.pop("DEPROV_API", None)
    e.pop("DEPROV_TOKEN", None)
    if api:
        e["DEPROV_API"] = api
    if token:
        e["DEPROV_TOKEN"] = token
    e.update(env or {})
    r = subprocess.run([os.path.join(build_dir(), "deprovctl")] + [str(a) for a in args],
                       capture_output=True, text=True, env=e, timeout=timeout)
    log("deprovctl", " ".join(str(a) for a in args), "->", r.returncode)
    for s in SECRETS:
        assert s not in r.stdout and s not in r.stderr, "deprovctl printed a secret"
    return r


def db_path(d):
    with open(d.config) as f:
        return json.load(f)["store"]["path"]


def audit_rows(d):
    con = sqlite3.connect(db_path(d), timeout=10)
    try:
        return con.execute("SELECT seq, ts_ms, kind, case_id, actor, target, step, detail,"
                           " prev_hash, hash FROM audit ORDER BY seq").fetchall()
    finally:
        con.close()


def netstring_hash(row):
    """The hash definition of include/deprov/audit.h, independently."""
    def f(v):
        if v is None:
            return b"~,"
        b = str(v).encode()
        return b"%d:%s," % (len(b), b)
    return hashlib.sha256(b"deprov-audit-v1\n" + b"".join(f(v) for v in row[:9])).hexdigest()


def check_chain(rows):
    prev = ZERO
    for i, row in enumerate(rows):
        assert row[0] == i + 1, ("seq", row[0], i + 1)
        assert row[8] == prev, ("prev_hash of", row[0])
        assert row[9] == netstring_hash(row), ("hash of", row[0])
        prev = row[9]


def export(d, *extra):
    r = ctl("audit", "export", "--config", d.config, *extra)
    assert r.returncode == 0, r.stderr
    return [json.loads(l) for l in r.stdout.splitlines() if l.strip()]


def test_audit_chain(work):
    """A leaver to completion: every engine event is in a valid chain; verify
    passes; editing one row makes verify fail naming it; export has the case
    and no secret."""
    sb = Sandbox(work, seed_people(1))
    d = Daemon(work, sb).start()
    try:
        publish(d.bootstrap, [("E0001", leaver_for(1))])
        c = d.wait_case("E0001", timeout=60)
        cid = c["id"]
        r = ctl("audit", "verify", "--config", d.config)
        assert r.returncode == 0, (r.stdout, r.stderr)
        assert r.stdout.startswith("ok"), r.stdout

        rows = audit_rows(d)
        check_chain(rows)
        mine = [x for x in rows if x[3] == cid]
        kinds = [x[2] for x in mine]
        assert kinds[0] == "case.opened", kinds
        opened = json.loads(mine[0][7])
        assert mine[0][4] == "/hr/workday", mine[0]
        assert opened["event_type"] == "io.deprov.leaver" and opened["source"] == "/hr/workday"
        states = [json.loads(x[7])["to"] for x in mine if x[2] == "case.state"]
        assert states == ["freezing", "contained", "remediating", "deactivating", "completed"], states
        done = {x[6]: json.loads(x[7]) for x in mine if x[2] == "step.done"}
        for step in ("freeze", "revoke_tokens", "reassign", "deactivate"):
            assert done[step]["outcome"] == "succeeded", done
            assert any(x[2] == "step.started" and x[6] == step and x[5] == "salesforce-prod"
                       for x in mine), (step, kinds)

        # Export: JSON lines with the case's records, hashes, and no secret.
        lines = export(d)
        assert [l["seq"] for l in lines] == [x[0] for x in rows]
        case_lines = [l for l in lines if l["case_id"] == cid]
        assert len(case_lines) == len(mine)
        assert all(len(l["hash"]) == 64 and l["time"].endswith("Z") for l in lines)
        assert isinstance(case_lines[0]["detail"], dict)
        raw = "\n".join(json.dumps(l) for l in lines)
        assert SANDBOX_TOKEN not in raw and "Bearer" not in raw
        # --since: only the later records.
        mid = rows[len(rows) // 2][1]
        later = export(d, "--since-ms", mid)
        assert later and all(l["ts_ms"] >= mid for l in later)
        assert len(later) == sum(1 for x in rows if x[1] >= mid)
        iso = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(mid // 1000))
        assert len(export(d, "--since", iso)) >= len(later)
        assert export(d, "--since", "2099-01-01T00:00:00Z") == []

        # Tamper: "the freeze failed" instead of succeeded.
        target = [x for x in mine if x[2] == "step.done" and x[6] == "freeze"][0]
        con = sqlite3.connect(db_path(d), timeout=10)
        con.execute("UPDATE audit SET detail = ? WHERE seq = ?",
                    (target[7].replace("succeeded", "failed"), target[0]))
        con.commit()
        con.close()
        r = ctl("audit", "verify", "--config", d.config)
        log("verify after edit:", r.stdout.strip(), "|", r.stderr.strip())
        assert r.returncode == 1, (r.returncode, r.stdout, r.stderr)
        assert "seq %d" % target[0] in r.stdout + r.stderr, (r.stdout, r.stderr)
        r = ctl("audit", "verify", "--db", db_path(d), "--json")
        assert r.returncode == 1
        v = json.loads(r.stdout)
        assert v["ok"] is False and v["bad_seq"] == target[0] and v["problem"] == "edited", v
        assert d.stop() == 0
    finally:
        d.stop()
        sb.stop()


def test_cli_freeze_and_views(work):
    """deprovctl freeze with the responder token; the case through cases/case
    (table and --json); the audit names the responder and the reason; wrong
    token and low role give the API's error and exit 1."""
    sb = Sandbox(work, seed_people(2))
    d = Daemon(work, sb, runbooks=[emergency_runbook(), standard_runbook(),
                                   unfreeze_runbook()]).start()
    api = d.url("")
    try:
        r = ctl("freeze", "--email", "emp0001@acme.example", "--reason", "INC-1",
                api=api, token=RESPONDER_TOKEN)
        assert r.returncode == 0, (r.stdout, r.stderr)
        assert r.stdout.startswith("freeze accepted: case "), r.stdout
        cid = int(r.stdout.split("case ")[1].split()[0])
        c = d.wait_case("emp0001@acme.example", timeout=30)
        assert c["id"] == cid and c["reason"] == "INC-1" and c["urgent"] is True, c
        assert sb.user(user_id(1))["IsFrozen"] is True

        # The audit: opened by /api/soc-oncall with the reason.
        opened = [x for x in audit_rows(d) if x[3] == cid and x[2] == "case.opened"]
        assert len(opened) == 1, opened
        assert opened[0][4] == "/api/soc-oncall", opened
        detail = json.loads(opened[0][7])
        assert detail["reason"] == "INC-1" and detail["event_type"] == "io.deprov.freeze", detail

        # cases: an aligned table by default, the API's JSON with --json.
        r = ctl("cases", api=api, token=API_TOKEN)
        assert r.returncode == 0, r.stderr
        lines = r.stdout.splitlines()
        assert lines[0].split()[:3] == ["ID", "STATE", "SUBJECT"], lines
        row = [l for l in lines[1:] if l.split()[0] == str(cid)]
        assert row and "completed" in row[0] and "emp0001@acme.example" in row[0], lines
        assert "INC-1" in row[0] and "freeze (urgent)" in row[0], row
        assert lines[0].index("STATE") == row[0].index("completed"), lines
        r = ctl("--json", "cases", "--state", "completed", "--limit", "5", api=api,
                token=API_TOKEN)
        assert r.returncode == 0, r.stderr
        cases = json.loads(r.stdout)["cases"]
        assert [x["id"] for x in cases] == [cid], cases
        r = ctl("cases", "--subject", "nobody@acme.example", api=api, token=API_TOKEN)
        assert r.returncode == 0 and r.stdout.strip() == "no cases", r.stdout
        # A state that is no state is a usage error, not "no cases".
        r = ctl("cases", "--state", "complete", api=api, token=API_TOKEN)
        assert r.returncode == 2 and "not a case state" in r.stderr, (r.stdout, r.stderr)

        # case ID: details, steps and timeline; --json is the API's object.
        r = ctl("case", cid, api=api, token=API_TOKEN)
        assert r.returncode == 0, r.stderr
        out = r.stdout
        for want in ("INC-1", "emergency-freeze", "completed (urgent)", "steps:", "timeline:",
                     "salesforce-prod", "revoke_tokens", "succeeded", "freeze by"):
            assert want in out, (want, out)
        r = ctl("case", cid, "--json", api=api, token=API_TOKEN)
        assert json.loads(r.stdout)["id"] == cid
        r = ctl("case", 99999, api=api, token=API_TOKEN)
        assert r.returncode == 1 and "deprovctl: not_found: no such case" in r.stderr, r.stderr

        # Wrong token: the API's 401 as "deprovctl: <error>: <detail>"; no token: same.
        r = ctl("cases", api=api, token="wrong-token")
        assert r.returncode == 1, r.returncode
        assert "deprovctl: unauthorized: unknown token" in r.stderr, r.stderr
        assert "wrong-token" not in r.stdout + r.stderr
        r = ctl("cases", api=api)
        assert r.returncode == 1 and "unauthorized" in r.stderr, r.stderr
        # --token overrides the environment; a viewer cannot freeze (403).
        r = ctl("--token", API_TOKEN, "freeze", "--username", "emp0002@acme.example",
                "--reason", "INC-2", api=api, token=RESPONDER_TOKEN)
        assert r.returncode == 1 and "deprovctl: forbidden:" in r.stderr, r.stderr
        # A responder cannot retry (admin only); an admin's cancel of a
        # completed case is a conflict.
        r = ctl("retry", cid, api=api, token=RESPONDER_TOKEN)
        assert r.returncode == 1 and "forbidden" in r.stderr, r.stderr
        r = ctl("cancel", cid, "--reason", "INC-1 done", api=api, token=ADMIN_TOKEN)
        assert r.returncode == 1 and "deprovctl: conflict:" in r.stderr, r.stderr

        # Unfreeze the false positive, with --api instead of the environment.
        r = ctl("unfreeze", "--email", "emp0001@acme.example", "--reason", "INC-1 false positive",
                "--api", api, token=RESPONDER_TOKEN, env={"DEPROV_API": "http://127.0.0.1:1"})
        assert r.returncode == 0, r.stderr
        wait_for(lambda: sb.user(user_id(1))["IsFrozen"] is False, 30, "unfreeze")
        r = ctl("audit", "verify", "--config", d.config)
        assert r.returncode == 0, (r.stdout, r.stderr)
        assert d.stop() == 0
    finally:
        d.stop()
        sb.stop()


def test_cli_publish_cancel(work):
    """deprovctl publish to the embedded cluster creates a case that runs to
    completion; a future-dated leaver is scheduled and deprovctl cancel (admin)
    ends it, recorded in the audit as operator.cancel by the token's name."""
    sb = Sandbox(work, seed_people(2))
    d = Daemon(work, sb).start()
    api = d.url("")
    try:
        r = ctl("publish", "--bootstrap-file", d.bootstrap_file, "--email",
                "emp0001@acme.example", "--employee-id", "E0001", "--manager-email",
                "boss0001@acme.example", "--termination-kind", "voluntary")
        assert r.returncode == 0, (r.stdout, r.stderr)
        assert r.stdout.startswith("published io.deprov.leaver "), r.stdout
        c = d.wait_case("E0001", timeout=60)
        assert c["event_type"] == "io.deprov.leaver", c
        assert sb.user(user_id(1))["IsActive"] is False

        # Future effective date: scheduled; then cancelled by an admin.
        r = ctl("publish", "--brokers", d.bootstrap, "--topic", "hr.leavers", "--json",
                "--email", "emp0002@acme.example", "--employee-id", "E0002",
                "--effective", "2099-01-01T00:00:00Z", "--id", "fixed-event-id-2")
        assert r.returncode == 0, r.stderr
        sent = json.loads(r.stdout)
        assert sent["event"]["id"] == "fixed-event-id-2" and sent["key"] == "E0002", sent
        assert sent["event"]["specversion"] == "1.0" and sent["event"]["subject"] == "E0002"
        c2 = d.wait_case("E0002", states=("scheduled",), timeout=60)
        r = ctl("cancel", c2["id"], "--reason", "HR-2 rescinded", api=api, token=ADMIN_TOKEN)
        assert r.returncode == 0, r.stderr
        assert r.stdout.strip() == "cancel accepted for case %d" % c2["id"], r.stdout
        d.wait_case("E0002", states=("cancelled",), timeout=30)
        ops = [x for x in audit_rows(d) if x[3] == c2["id"] and x[2] == "operator.cancel"]
        assert len(ops) == 1 and ops[0][4] == "ops", ops
        rows = audit_rows(d)
        check_chain(rows)

        # Usage errors exit 2 without touching Kafka.
        r = ctl("publish", "--email", "x@acme.example", "--employee-id", "E9")
        assert r.returncode == 2, r.returncode
        r = ctl("publish", "--brokers", d.bootstrap, "--email", "x@acme.example")
        assert r.returncode == 2, r.returncode
        r = ctl("publish", "--brokers", d.bootstrap, "--email", "x@acme.example",
                "--employee-id", "E9", "--effective", "tomorrow")
        assert r.returncode == 2, r.returncode
        assert d.stop() == 0
        # The daemon is gone: verify still works on the file, deprovctl's
        # API calls cannot reach it.
        r = ctl("audit", "verify", "--db", db_path(d))
        assert r.returncode == 0 and r.stdout.startswith("ok: %d records" % len(rows)), r.stdout
        r = ctl("cases", api=api, token=API_TOKEN)
        assert r.returncode == 3, (r.returncode, r.stderr)
    finally:
        d.stop()
        sb.stop()


def test_cli_retry_cancel_reasons(work):
    """retry and cancel carry the operator's reason into the audit record and
    the case's timeline; cancel refuses to go without one (CLI: exit 2; API:
    400), and the bodies are as strict as the other routes'."""
    sb = Sandbox(work, seed_people(2))
    sb.fault({"path": "/services/data/v60.0/sobjects/UserLogin/", "mode": "status",
              "status": 503})
    d = Daemon(work, sb, runbooks=[standard_runbook(max_attempts=2, initial_ms=10,
                                                    max_ms=50)]).start()
    api = d.url("")
    try:
        # A failing freeze escalates case 1; case 2 waits for its effective date.
        publish(d.bootstrap, [("E0001", leaver_for(1)),
                              ("E0002", leaver_for(2, effective="2099-01-01T00:00:00Z"))])
        esc = d.wait_case("E0001", states=("escalated",), timeout=60)
        sched = d.wait_case("E0002", states=("scheduled",), timeout=60)
        cancel = "/v1/cases/%d/cancel" % sched["id"]
        retry = "/v1/cases/%d/retry" % esc["id"]

        # The API: a cancel without a reason, or any body but {"reason": text}, is 400.
        for bad in (None, b"{}", b'{"reason": null}', b'{"reason": ""}', b'{"reason": 7}',
                    b'{"reason": "x", "by": "me"}', b'{"reason": "a\\u0000b"}',
                    b'{"reason": "' + b"x" * 600 + b'"}', b"[]", b"reason=x"):
            st, err = d.call("POST", cancel, bad, token=ADMIN_TOKEN)
            assert st == 400 and err["error"] == "bad_request" and err["detail"], (bad, st, err)
        st, err = d.call("POST", cancel, token=ADMIN_TOKEN)
        assert "reason is required" in err["detail"], err
        st, err = d.call("POST", cancel, b'{"reason": "x", "by": "me"}', token=ADMIN_TOKEN)
        assert 'unknown member "by"' in err["detail"], err
        for bad in (b'{"reason": "x", "by": "me"}', b'{"reason": ""}', b"{\"reason\": \"a\x00\"}",
                    b"nope"):
            st, err = d.call("POST", retry, bad, token=ADMIN_TOKEN)
            assert st == 400 and err["error"] == "bad_request", (bad, st, err)
        assert d.case(sched["id"])["state"] == "scheduled"
        assert d.case(esc["id"])["state"] == "escalated"

        # The CLI: cancel needs --reason (a usage error, nothing sent).
        r = ctl("cancel", sched["id"], api=api, token=ADMIN_TOKEN)
        assert r.returncode == 2 and "--reason is required" in r.stderr, (r.returncode, r.stderr)
        r = ctl("cancel", sched["id"], "--reason", "", api=api, token=ADMIN_TOKEN)
        assert r.returncode == 2, (r.returncode, r.stderr)
        r = ctl("cancel", sched["id"], "--reason", "HR-9 \"rescinded\" by phone", api=api,
                token=ADMIN_TOKEN)
        assert r.returncode == 0, (r.stdout, r.stderr)
        assert r.stdout.strip() == "cancel accepted for case %d" % sched["id"], r.stdout
        d.wait_case("E0002", states=("cancelled",), timeout=30)
        full = d.case(sched["id"])
        assert full["error"] == 'cancelled by ops: HR-9 "rescinded" by phone', full["error"]
        notes = [t["detail"] for t in full["timeline"] if t["kind"] == "operator"]
        assert notes == ['cancelled by ops: HR-9 "rescinded" by phone'], full["timeline"]

        # retry: the reason is optional; given, it is audited and in the timeline.
        sb.clear_faults()
        r = ctl("retry", esc["id"], "--reason", "INC-5 Salesforce back", api=api,
                token=ADMIN_TOKEN)
        assert r.returncode == 0, (r.stdout, r.stderr)
        d.wait_case("E0001", states=("completed",), timeout=60)
        notes = [t["detail"] for t in d.case(esc["id"])["timeline"] if t["kind"] == "operator"]
        assert len(notes) == 1 and notes[0].startswith("retry by ops (") and \
            notes[0].endswith("): INC-5 Salesforce back"), notes
        # Without one: the body may be left out, as before.
        st, err = d.call("POST", retry, token=ADMIN_TOKEN)
        assert st == 409 and err["error"] == "conflict", (st, err)

        ops = {x[2]: json.loads(x[7]) for x in audit_rows(d) if x[2].startswith("operator.")}
        assert ops == {"operator.cancel": {"via": "api", "reason": 'HR-9 "rescinded" by phone'},
                       "operator.retry": {"via": "api", "reason": "INC-5 Salesforce back"}}, ops
        check_chain(audit_rows(d))
        assert d.stop() == 0
    finally:
        d.stop()
        sb.stop()


def test_cli_private_ca(work):
    """An API behind a private CA: without the CA deprovctl says the
    certificate is not trusted (exit 1, not the exit 3 of an API that is
    down); --cacert or SSL_CERT_FILE gives the CA, --cacert wins."""
    cert, key = gen_cert(work)
    other, _ = gen_cert(work, "other")
    sb = Sandbox(work, seed_people(1))
    d = Daemon(work, sb, extra=tls_config(cert, key)).start(wait_ready=False)
    api = "https://127.0.0.1:%d" % d.api_port
    untrusted = "certificate not trusted (give the CA with --cacert or SSL_CERT_FILE)"
    try:
        def up():
            assert d.proc.poll() is None, "deprovd exited: see %s" % d.stderr_path
            return ctl("cases", "--cacert", cert, api=api, token=API_TOKEN).returncode == 0
        wait_for(up, 30, "the https API")

        # No CA given: the system's store does not know it.
        r = ctl("cases", api=api, token=API_TOKEN, env={"SSL_CERT_FILE": ""})
        assert r.returncode == 1, (r.returncode, r.stderr)
        assert untrusted in r.stderr and "cannot reach" not in r.stderr, r.stderr
        assert r.stderr.startswith("deprovctl: the API at %s: " % api), r.stderr

        # The CA by flag, by environment; the flag wins over the environment.
        r = ctl("--cacert", cert, "cases", api=api, token=API_TOKEN)
        assert r.returncode == 0 and r.stdout.strip() == "no cases", (r.stdout, r.stderr)
        r = ctl("cases", api=api, token=API_TOKEN, env={"SSL_CERT_FILE": cert})
        assert r.returncode == 0, r.stderr
        r = ctl("cases", "--cacert", cert, api=api, token=API_TOKEN,
                env={"SSL_CERT_FILE": other})
        assert r.returncode == 0, r.stderr

        # The wrong CA: not trusted, naming the file that was tried.
        r = ctl("cases", api=api, token=API_TOKEN, env={"SSL_CERT_FILE": other})
        assert r.returncode == 1 and untrusted[:-1] in r.stderr, r.stderr
        assert "SSL_CERT_FILE %s does not hold it" % other in r.stderr, r.stderr
        # A name the certificate is not for.
        r = ctl("cases", "--cacert", cert, api="https://localhost:%d" % d.api_port,
                token=API_TOKEN)
        assert r.returncode == 1 and "another host name" in r.stderr, r.stderr

        # A CA file that is missing or is no CA file: a usage error.
        r = ctl("cases", "--cacert", os.path.join(work.path, "missing.pem"), api=api,
                token=API_TOKEN)
        assert r.returncode == 2 and "--cacert" in r.stderr and "cannot read" in r.stderr, \
            r.stderr
        junk = work.file("junk.pem", "not a certificate\n")
        r = ctl("cases", "--cacert", junk, api=api, token=API_TOKEN)
        assert r.returncode == 2 and "no usable CA certificate" in r.stderr, \
            (r.returncode, r.stderr)
        r = ctl("cases", "--cacert", work.path, api=api, token=API_TOKEN)
        assert r.returncode == 2 and "not a file" in r.stderr, r.stderr

        # Down is still down: exit 3.
        assert d.stop() == 0
        r = ctl("cases", "--cacert", cert, api=api, token=API_TOKEN)
        assert r.returncode == 3 and "cannot reach the API" in r.stderr, r.stderr
    finally:
        d.stop()
        sb.stop()


def duration_ms(text):
    """deprovctl's short durations ("850ms", "4.2s") in milliseconds."""
    m = re.match(r"^(\d+)ms$", text)
    if m:
        return int(m.group(1))
    m = re.match(r"^(\d+(?:\.\d+)?)s$", text)
    assert m, "not a duration under a minute: %r" % text
    return float(m.group(1)) * 1000


def test_cli_scheduled_frozen_after(work):
    """A scheduled leaver's "frozen after" counts from its effective time, as
    its freeze deadline does and as the dashboard shows it, not from when the
    event arrived."""
    sb = Sandbox(work, seed_people(1))
    d = Daemon(work, sb).start()
    api = d.url("")
    try:
        wait_s = 6
        effective = int(time.time()) + wait_s + 1
        publish(d.bootstrap, [("E0001", leaver_for(1, effective=time.strftime(
            "%Y-%m-%dT%H:%M:%SZ", time.gmtime(effective))))])
        c = d.wait_case("E0001", timeout=60)
        assert c["effective_ms"] == effective * 1000, c
        assert c["effective_ms"] - c["created_ms"] >= (wait_s - 1) * 1000, c
        assert c["frozen_ms"] >= c["effective_ms"], c
        assert c["freeze_deadline_ms"] - c["effective_ms"] == 60 * 1000, c
        want = c["frozen_ms"] - c["effective_ms"]
        summary = d.api("/v1/summary")
        assert summary["recent"][0]["time_to_freeze_ms"] == want, summary["recent"]

        r = ctl("cases", api=api, token=API_TOKEN)
        assert r.returncode == 0, r.stderr
        head, row = r.stdout.splitlines()[:2]
        cell = row[head.index("FROZEN AFTER"):head.index("REASON")].strip()
        assert abs(duration_ms(cell) - want) < 100, (cell, want, r.stdout)
        assert duration_ms(cell) < (wait_s - 2) * 1000, (cell, r.stdout)

        r = ctl("case", c["id"], api=api, token=API_TOKEN)
        assert r.returncode == 0, r.stderr
        frozen = [l for l in r.stdout.splitlines() if l.startswith("frozen ")]
        m = re.search(r"\((\S+) after effective\)$", frozen[0]) if frozen else None
        assert m and abs(duration_ms(m.group(1)) - want) < 100, (frozen, want)
        assert d.stop() == 0
    finally:
        d.stop()
        sb.stop()


def test_cli_api_down(work):
    """No API listening: exit 3 with a clear message; unknown commands and
    options are usage errors (2); --help works everywhere."""
    port = free_port()
    r = ctl("cases", api="http://127.0.0.1:%d" % port, token=API_TOKEN)
    assert r.returncode == 3, (r.returncode, r.stderr)
    assert "cannot reach the API at http://127.0.0.1:%d" % port in r.stderr, r.stderr
    r = ctl("--api", "http://127.0.0.1:%d/" % port, "freeze", "--email", "a@acme.example",
            "--reason", "x", token=RESPONDER_TOKEN)
    assert r.returncode == 3, r.returncode
    assert ctl("nonsense").returncode == 2
    assert ctl("cases", "--frobnicate").returncode == 2
    assert ctl("case").returncode == 2
    assert ctl("case", "abc").returncode == 2
    assert ctl("freeze", "--email", "a@acme.example").returncode == 2
    assert ctl("audit", "verify").returncode == 2
    assert ctl("audit", "export", "--db", "x", "--since", "yesterday").returncode == 2
    r = ctl("audit", "verify", "--db", os.path.join(work.path, "missing.db"))
    assert r.returncode == 1, r.returncode
    for cmd in (["--help"], ["help"], ["cases", "--help"], ["case", "--help"],
                ["freeze", "-h"], ["unfreeze", "--help"], ["retry", "--help"],
                ["cancel", "--help"], ["publish", "--help"], ["audit", "--help"],
                ["audit", "verify", "--help"], ["audit", "export", "--help"],
                ["check", "--help"], ["help", "publish"]):
        r = ctl(*cmd)
        assert r.returncode == 0 and r.stdout.startswith("usage: deprovctl"), (cmd, r.stdout)


def test_cli_check(work):
    """deprovctl check: the same checks as deprovd --check."""
    runbooks = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", "runbooks"))
    good = work.file("good.json", """{
  "store": { "path": "var/deprov.db" },
  "runbooks": "%s",
  "kafka": { "brokers": "embedded" },
  "targets": {
    "salesforce-prod": { "kind": "salesforce", "base_url": "https://acme.my.salesforce.com",
      "auth": { "type": "bearer", "token": "x" } }
  }
}
""" % runbooks)
    r = ctl("check", "--config", good)
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith(good + ": ok"), r.stdout
    bad = work.file("bad.json", """{
  // comments are allowed
  "store": { "path": "var/x.db" },
  "runbooks": "%s",
  "colour": "blue",
  "kafka": { "brokers": "embedded", "topics": "hr.leavers" },
  "targets": {
    "odd": { "kind": "mainframe", "base_url": "http://127.0.0.1:1" }
  }
}
""" % runbooks)
    r = ctl("check", "--config", bad)
    log("check output:\n" + r.stderr)
    assert r.returncode == 2, (r.returncode, r.stderr)
    lines = r.stderr.strip().splitlines()
    assert any(l.startswith(bad + ":5:") and "colour" in l for l in lines), lines
    assert any(l.startswith(bad + ":6:") and "topics" in l for l in lines), lines
    assert any(l.startswith(bad + ":8:") and "mainframe" in l for l in lines), lines
    deprovd = subprocess.run([os.path.join(build_dir(), "deprovd"), "--config", bad, "--check"],
                             capture_output=True, text=True)
    assert deprovd.returncode == 2 and deprovd.stderr.strip().splitlines() == lines, \
        (deprovd.stderr, lines)
    r = ctl("check", "--config", os.path.join(work.path, "missing.json"))
    assert r.returncode == 2 and "missing.json" in r.stderr, r.stderr
    assert ctl("check").returncode == 2


JAN1_MS = 1767225600000         # 2026-01-01T00:00:00Z


def seed_cases(d, n):
    """n ended cases written into the stopped daemon's store: case i created
    at 2026-01-01 + i hours, runbook contractor-leaver when i % 3 == 0, a
    failed deactivate at salesforce-prod when i % 10 == 0 (escalated), and a
    failed revoke_tokens there too when i % 20 == 0 (still one case).
    Returns their ids in the order of i."""
    con = sqlite3.connect(db_path(d), timeout=10)
    ids = []
    try:
        with con:
            for i in range(n):
                failed = i % 10 == 0
                at = JAN1_MS + i * 3600000
                cur = con.execute(
                    "INSERT INTO cases (subject_key, subject, runbook, event_type, state,"
                    " urgent, created_ms, updated_ms, effective_ms, completed_ms, error, retry)"
                    " VALUES (?, '{}', ?, 'io.deprov.leaver', ?, 0, ?, ?, ?, ?, ?, '{}')",
                    ("P%03d" % i, "contractor-leaver" if i % 3 == 0 else "standard-leaver",
                     "escalated" if failed else "completed", at, at + 1000, at, at + 1000,
                     "HTTP 500" if failed else None))
                ids.append(cur.lastrowid)
                steps = [(0, "freeze", "succeeded"),
                         (1, "deactivate", "failed" if failed else "succeeded")]
                if i % 20 == 0:
                    steps.append((2, "revoke_tokens", "failed"))
                for seq, step, state in steps:
                    con.execute("INSERT INTO steps (case_id, target, seq, step, state, attempts)"
                                " VALUES (?, 'salesforce-prod', ?, ?, ?, 1)",
                                (ids[-1], seq, step, state))
    finally:
        con.close()
    return ids


def test_cases_pages(work):
    """GET /v1/cases over 120 cases in pages of 50 while new cases arrive
    between pages: every case exactly once, newest first, the new ones only
    on a fresh first page; the runbook, created_after/created_before and
    failed_at filters, alone, together and paged; a bad, edited or borrowed
    cursor, an unknown or repeated parameter, a bad time: 400; deprovctl
    cases --all and its filter options."""
    sb = Sandbox(work, seed_people(4))
    d = Daemon(work, sb, runbooks=[emergency_runbook(), standard_runbook()]).start()
    api = d.url("")
    try:
        assert d.stop() == 0
        ids = seed_cases(d, 120)
        d.start()

        def get(query, status=200):
            st, body = d.call("GET", "/v1/cases?" + query, token=API_TOKEN)
            assert st == status, (query, st, body)
            return body

        def pages(query):
            """Every page of query: the pages' ids, and their sizes."""
            got, sizes, cur = [], [], None
            while True:
                b = get(query + ("&cursor=" + cur if cur else ""))
                got += [c["id"] for c in b["cases"]]
                sizes.append(len(b["cases"]))
                cur = b["next"]
                if cur is None:
                    return got, sizes
                assert len(sizes) < 50, "pages without end"

        # Three pages of 50, a new case (a freeze) arriving before each
        # page after the first and after the last.
        new, got, sizes, cur = [], [], [], None
        for k in range(4):
            b = get("limit=50" + ("&cursor=" + cur if cur else ""))
            got += [c["id"] for c in b["cases"]]
            sizes.append(len(b["cases"]))
            st, r = d.call("POST", "/v1/freeze", {"subject": {"email": "emp%04d@acme.example" % (k + 1)},
                                                 "reason": "INC-P%d" % k}, token=RESPONDER_TOKEN)
            assert st == 202, (st, r)
            new.append(r["case_id"])
            cur = b["next"]
            if cur is None:
                break
            assert isinstance(cur, str) and cur, b["next"]
        assert sizes == [50, 50, 20], sizes
        assert got == ids[::-1], "a case skipped, repeated or out of order"
        assert not set(new) & set(got), "a case inserted since showed on a later page"
        first = get("limit=50")
        assert [c["id"] for c in first["cases"][:3]] == new[::-1], first["cases"][:3]
        assert first["next"] is not None
        assert get("limit=1000")["next"] is None

        # runbook: alone, and paged.
        contractors = [ids[i] for i in range(120) if i % 3 == 0][::-1]
        assert [c["id"] for c in get("runbook=contractor-leaver&limit=1000")["cases"]] == contractors
        assert pages("runbook=contractor-leaver&limit=15") == (contractors, [15, 15, 10])
        assert get("runbook=nope")["cases"] == []
        # A day of creation: at or after 2026-01-02, before 2026-01-03.
        day = [c["id"] for c in get("created_after=2026-01-02T00:00:00Z&created_before=2026-01-03"
                                    "&limit=1000")["cases"]]
        assert day == ids[24:48][::-1], day
        assert [c["id"] for c in get("created_after=2026-01-05T23:00:00%2B00:00"
                                     "&created_before=2026-01-06")["cases"]] == [ids[119]]
        # The new cases were created now, after every seeded one.
        late = [c["id"] for c in get("created_after=2026-01-06&limit=1000")["cases"]]
        assert sorted(late) == sorted(new), late
        # failed_at: each case with a failure once (half of them have two
        # failed steps there), paged; with runbook; at a target without.
        failed = [ids[i] for i in range(120) if i % 10 == 0][::-1]
        assert pages("failed_at=salesforce-prod&limit=5") == (failed, [5, 5, 2])
        both = get("failed_at=salesforce-prod&runbook=contractor-leaver&created_before=2026-01-06")
        assert [c["id"] for c in both["cases"]] == [ids[90], ids[60], ids[30], ids[0]], both
        assert all(c["state"] == "escalated" for c in both["cases"])
        assert get("failed_at=okta-prod") == {"cases": [], "next": None}
        assert [c["id"] for c in get("state=escalated&limit=1000")["cases"]] == failed

        # Cursors: garbage, edited (in the id, in the check), cut short,
        # or carried over to another query: 400, never some other page.
        cur = get("runbook=contractor-leaver&limit=15")["next"]
        assert get("runbook=contractor-leaver&limit=15&cursor=" + cur)["cases"][0]["id"] == contractors[15]
        flip = {"0": "1"}
        edited = ["garbage", cur[:-1], cur + "0", cur[:15] + flip.get(cur[15], "0") + cur[16:],
                  cur[:-1] + ("1" if cur[-1] == "0" else "0")]
        if cur.upper() != cur:
            edited.append(cur.upper())
        for bad in edited:
            b = get("runbook=contractor-leaver&limit=15&cursor=" + bad, 400)
            assert b["error"] == "bad_request" and "cursor" in b["detail"], (bad, b)
        b = get("failed_at=salesforce-prod&limit=15&cursor=" + cur, 400)
        assert "cursor" in b["detail"], b
        # A different page size goes on from the same cursor.
        assert get("runbook=contractor-leaver&limit=2&cursor=" + cur)["cases"][0]["id"] == contractors[15]

        # Parameters: unknown ones named, repeated ones refused, bad times.
        b = get("limit=5&frob=1&runbok=x", 400)
        assert '"frob"' in b["detail"] and '"runbok"' in b["detail"], b
        assert "failed_at" in b["detail"] and "cursor" in b["detail"], b
        b = get("state=completed&state=escalated", 400)
        assert '"state"' in b["detail"] and "more than once" in b["detail"], b
        for q in ("created_after=2026-13-01", "created_before=yesterday",
                  "created_after=2026-01-02T00:00:00"):
            b = get(q, 400)
            assert q.split("=")[0] in b["detail"] and "RFC 3339" in b["detail"], b
        assert get("limit=0", 400)["error"] == "bad_request"

        # deprovctl cases --all: one table, one JSON reply, every case once.
        r = ctl("--json", "cases", "--all", "--limit", "50", api=api, token=API_TOKEN)
        assert r.returncode == 0, r.stderr
        out = json.loads(r.stdout)
        assert out["next"] is None and [c["id"] for c in out["cases"]] == new[::-1] + ids[::-1], out
        r = ctl("cases", "--all", "--limit", "50", api=api, token=API_TOKEN)
        assert r.returncode == 0, r.stderr
        lines = r.stdout.splitlines()
        assert lines[0].split()[:3] == ["ID", "STATE", "SUBJECT"], lines[0]
        assert [int(l.split()[0]) for l in lines[1:]] == new[::-1] + ids[::-1]
        assert r.stderr == "", r.stderr
        # One page: the table of 50, and a word that there are more.
        r = ctl("cases", "--limit", "50", api=api, token=API_TOKEN)
        assert r.returncode == 0 and len(r.stdout.splitlines()) == 51, r.stdout
        assert "--all" in r.stderr, r.stderr
        r = ctl("--json", "cases", "--all", "--failed-at", "salesforce-prod", "--runbook",
                "contractor-leaver", "--created-before", "2026-01-06", "--limit", "3",
                api=api, token=API_TOKEN)
        assert r.returncode == 0, r.stderr
        assert [c["id"] for c in json.loads(r.stdout)["cases"]] == [ids[90], ids[60], ids[30], ids[0]]
        r = ctl("--json", "cases", "--all", "--created-after", "2026-01-02",
                "--created-before", "2026-01-03T00:00:00Z", api=api, token=API_TOKEN)
        assert r.returncode == 0, r.stderr
        assert [c["id"] for c in json.loads(r.stdout)["cases"]] == ids[24:48][::-1]
        r = ctl("cases", "--created-after", "yesterday", api=api, token=API_TOKEN)
        assert r.returncode == 2 and "RFC 3339" in r.stderr, (r.stdout, r.stderr)
        assert d.stop() == 0
    finally:
        d.stop()
        sb.stop()


def test_cases_pages_ten_thousand(work):
    """After a 10,000-person layoff every case can be listed: GET /v1/cases
    in pages of the most it gives (1,000) follows `next` through all 10,000,
    each once, newest first; so does `deprovctl cases --all`."""
    n = 10000
    sb = Sandbox(work, seed_people(2))
    d = Daemon(work, sb).start()
    try:
        assert d.stop() == 0
        ids = seed_cases(d, n)
        d.start()
        got, cur, pages = [], None, 0
        while True:
            st, b = d.call("GET", "/v1/cases?limit=1000" + ("&cursor=" + cur if cur else ""),
                           token=API_TOKEN)
            assert st == 200, (st, b)
            assert len(b["cases"]) <= 1000
            got += [c["id"] for c in b["cases"]]
            pages += 1
            cur = b["next"]
            if cur is None:
                break
            assert pages <= 11, "pages without end"
        assert got == ids[::-1], (len(got), got[:3])
        assert pages == 10, pages
        r = ctl("--json", "cases", "--all", api=d.url(""), token=API_TOKEN)
        assert r.returncode == 0, r.stderr
        assert [c["id"] for c in json.loads(r.stdout)["cases"]] == ids[::-1]
        log("10,000 cases listed in %d pages, and by deprovctl cases --all" % pages)
    finally:
        d.stop()
        sb.stop()


TESTS = {f.__name__[5:]: f for f in [
    test_audit_chain, test_cli_freeze_and_views, test_cli_publish_cancel,
    test_cli_retry_cancel_reasons, test_cli_private_ca, test_cli_scheduled_frozen_after,
    test_cli_api_down, test_cli_check, test_cases_pages, test_cases_pages_ten_thousand]}

if __name__ == "__main__":
    main(TESTS)
