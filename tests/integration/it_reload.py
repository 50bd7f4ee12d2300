#!/usr/bin/env python3
"""Reload integration tests: a real deprovd (embedded Kafka mock cluster) and
deprov-sandbox; the configuration file is edited and reloaded with SIGHUP or
`deprovctl reload` (POST /v1/reload), and what the daemon then does, logs,
counts, audits and answers is checked. Run one test: it_reload.py --build
DIR NAME."""

import hashlib
import json
import os
import signal
import sqlite3
import subprocess
import sys

sys.path.insert(0, os.path.dirname(__file__))
from harness import (ADMIN_TOKEN, API_TOKEN, RESPONDER_TOKEN, SANDBOX_TOKEN,  # noqa: E402
                     Daemon, Sandbox, build_dir, free_port, http, leaver_for, log, main,
                     publish, seed_people, standard_runbook, wait_for)

NEW_TOKEN = "second-admin-token-for-reload"
ROTATED = "rotated-sandbox-token-0123456789"
BOGUS = "bogus-sandbox-token-0123456789"
SECRETS = (SANDBOX_TOKEN, API_TOKEN, RESPONDER_TOKEN, ADMIN_TOKEN, NEW_TOKEN, ROTATED, BOGUS)


def ctl(d, *args, token=ADMIN_TOKEN):
    """deprovctl against d; never prints a secret."""
    e = dict(os.environ, DEPROV_API=d.url(""), DEPROV_TOKEN=token)
    r = subprocess.run([os.path.join(build_dir(), "deprovctl")] + list(args),
                       capture_output=True, text=True, env=e, timeout=60)
    log("deprovctl", " ".join(args), "->", r.returncode, r.stdout, r.stderr)
    for s in SECRETS:
        assert s not in r.stdout and s not in r.stderr, "deprovctl printed a secret"
    return r


def read_cfg(d):
    with open(d.config) as f:
        return json.load(f)


def write_cfg(d, cfg):
    with open(d.config, "w") as f:
        json.dump(cfg, f, indent=1)


def line_of(path, needle):
    with open(path) as f:
        for i, line in enumerate(f, 1):
            if needle in line:
                return i
    raise AssertionError("%s not in %s" % (needle, path))


def reloads(d):
    return (d.metric("deprov_config_reloads_total", result="ok"),
            d.metric("deprov_config_reloads_total", result="failed"))


def audit_reloads(d):
    db = sqlite3.connect(os.path.join(d.work.path, "var", "deprov.db"), timeout=10)
    try:
        return [(a, json.loads(x)) for a, x in db.execute(
            "SELECT actor, detail FROM audit WHERE kind = 'config.reload' ORDER BY seq")]
    finally:
        db.close()


def sighup(d, n_before):
    """SIGHUP, then wait for the reload's end (ok or failed) in the counters."""
    d.proc.send_signal(signal.SIGHUP)
    wait_for(lambda: sum(v or 0 for v in reloads(d)) > n_before, 15, "the reload to end")
    assert d.proc.poll() is None, "deprovd exited on SIGHUP"


def no_secrets(d):
    text = d.log_text()
    for s in SECRETS:
        assert s not in text, "the log shows a secret"
    for _, detail in audit_reloads(d):
        for s in SECRETS:
            assert s not in json.dumps(detail), "the audit trail shows a secret"


def token_entry(name, role, token):
    return {"name": name, "role": role, "sha256": hashlib.sha256(token.encode()).hexdigest()}


def step_names(d, subject):
    c = d.wait_case(subject)
    return sorted(s["step"] for s in d.case(c["id"])["steps"])


def test_sighup_applies(work):
    """SIGHUP applies a new API token, a rate limit and a runbook change; a
    changed secret file is re-read (deprovctl reload): credentials the target
    refuses (the case escalates on the 401), then ones it takes (the retried
    case completes) reach the next calls without a restart."""
    sb = Sandbox(work, seed_people(3), args=["--token", ROTATED])
    tok = work.file("sf.token", SANDBOX_TOKEN)
    d = Daemon(work, sb, auth={"type": "bearer", "token_file": tok},
               runbooks=[standard_runbook(max_attempts=60, initial_ms=50, max_ms=300)])
    try:
        d.start()
        assert reloads(d) == (0, 0)
        st, _ = d.call("GET", "/v1/cases", token=NEW_TOKEN)
        assert st == 401
        assert d.metric("deprov_target_rate_limit_remaining", target="salesforce-prod") >= 0
        started = d.metric("deprov_config_last_reload_success_timestamp_seconds")

        cfg = read_cfg(d)
        cfg["api"]["tokens"].append(token_entry("ops2", "admin", NEW_TOKEN))
        cfg["targets"]["salesforce-prod"]["limits"]["rate_per_sec"] = 0   # unlimited: +Inf
        write_cfg(d, cfg)
        rb = standard_runbook(max_attempts=60, initial_ms=50, max_ms=300)
        rb["targets"][0]["steps"] = ["freeze", "deactivate"]
        work.file("runbooks/00-standard-leaver.json", rb)
        sighup(d, 0)

        assert reloads(d) == (1, 0)
        assert d.metric("deprov_config_last_reload_success_timestamp_seconds") >= started
        st, _ = d.call("GET", "/v1/cases", token=NEW_TOKEN)
        assert st == 200, "the new token is not taken"
        assert d.metric("deprov_target_rate_limit_remaining",
                      target="salesforce-prod") == float("inf"), "the rate limit stays"
        publish(d.bootstrap, [("E0001", leaver_for(1))])
        assert step_names(d, "E0001") == ["deactivate", "freeze"], "the new runbook is not used"
        actor, detail = audit_reloads(d)[-1]
        assert actor == "SIGHUP", actor
        assert detail["result"] == "ok", detail
        for what in ("api.tokens", "targets.salesforce-prod.limits.rate_per_sec",
                     "runbooks.standard-leaver changed"):
            assert what in detail["changed"], (what, detail)
        assert detail["needs_restart"] == [], detail
        assert "configuration reloaded by SIGHUP" in d.log_text()

        # Credentials the target refuses: the next case's calls get 401.
        work.file("sf.token", BOGUS)
        r = ctl(d, "reload")
        assert r.returncode == 0 and "targets.salesforce-prod.auth" in r.stdout, r.stdout
        publish(d.bootstrap, [("E0002", leaver_for(2))])

        def refused():
            cs = d.cases(subject="E0002")
            if not cs:
                return False
            return any("401" in (s.get("last_error") or "")
                       for s in d.case(cs[0]["id"])["steps"])
        wait_for(refused, 30, "a 401 with the bogus token")
        case2 = d.wait_case("E0002", states=("escalated",), timeout=30)
        # Rotated credentials it takes: the same case, retried, completes.
        work.file("sf.token", ROTATED)
        r = ctl(d, "--json", "reload")
        assert r.returncode == 0, r.stderr
        assert "targets.salesforce-prod.auth" in json.loads(r.stdout)["changed"]
        st, body = d.call("POST", "/v1/cases/%d/retry" % case2["id"],
                          {"reason": "credentials rotated"}, token=ADMIN_TOKEN)
        assert st == 202, (st, body)
        d.wait_case("E0002", timeout=60)
        assert reloads(d) == (3, 0)
        assert [a for a, _ in audit_reloads(d)] == ["SIGHUP", "ops", "ops"]
        no_secrets(d)
    finally:
        d.stop()
        sb.stop()


def test_bad_config_kept(work):
    """An unknown key, a syntax error and a bad runbook: each reload fails
    with file:line (answer, log, deprovctl), is counted and audited, and the
    daemon keeps serving with the configuration it had."""
    sb = Sandbox(work, seed_people(2))
    d = Daemon(work, sb)
    try:
        d.start()
        good = read_cfg(d)

        cfg = read_cfg(d)
        cfg["kafka"]["brokerz"] = "x:9092"
        cfg["api"]["tokens"].append(token_entry("ops2", "admin", NEW_TOKEN))
        write_cfg(d, cfg)
        line = line_of(d.config, '"brokerz"')
        st, body = d.call("POST", "/v1/reload", token=ADMIN_TOKEN)
        assert st == 422, (st, body)
        assert body["error"] == "invalid_config", body
        assert body["detail"].startswith("%s:%d: " % (d.config, line)), body
        assert "brokerz" in body["detail"], body
        assert "%s:%d: " % (d.config, line) in d.log_text()
        assert reloads(d) == (0, 1)
        st, _ = d.call("GET", "/v1/cases", token=NEW_TOKEN)
        assert st == 401, "a token of the rejected configuration is taken"

        # A syntax error, by SIGHUP.
        with open(d.config, "w") as f:
            f.write("{\n \"store\": {,\n")
        sighup(d, 1)
        assert reloads(d) == (0, 2)
        assert "%s:2: " % d.config in d.log_text()

        # A runbook with an unknown step, by deprovctl.
        write_cfg(d, good)
        rb = standard_runbook()
        rb["targets"][0]["steps"] = ["freeze", "freez"]
        rbf = work.file("runbooks/00-standard-leaver.json", rb)
        r = ctl(d, "reload")
        assert r.returncode == 1, r
        assert "%s:%d: " % (rbf, line_of(rbf, '"freez"')) in r.stderr, r.stderr
        assert reloads(d) == (0, 3)
        # Only admins reload.
        st, body = d.call("POST", "/v1/reload", token=RESPONDER_TOKEN)
        assert st == 403, (st, body)

        # Still serving, with the old runbook and tokens.
        work.file("runbooks/00-standard-leaver.json", standard_runbook())
        d.wait_ready()
        publish(d.bootstrap, [("E0001", leaver_for(1))])
        assert step_names(d, "E0001") == ["deactivate", "freeze", "reassign", "revoke_tokens"]
        audits = audit_reloads(d)
        assert [x["result"] for _, x in audits] == ["failed"] * 3, audits
        assert audits[0][0] == "ops" and audits[1][0] == "SIGHUP", audits
        assert audits[0][1]["errors"] and "brokerz" in audits[0][1]["errors"][0]
        no_secrets(d)
    finally:
        d.stop()
        sb.stop()


def test_restart_only_reported(work):
    """Settings only a restart changes are reported (answer and log) and not
    applied, at every reload until a restart; live ones are applied."""
    sb = Sandbox(work, seed_people(1))
    d = Daemon(work, sb)
    try:
        d.start()
        cfg = read_cfg(d)
        other = free_port()
        cfg["kafka"]["group_id"] = "another-group"
        cfg["api"]["listen"] = "127.0.0.1:%d" % other
        cfg["store"]["path"] = os.path.join(work.path, "var", "other.db")
        cfg["log_level"] = "info"
        cfg["targets"]["okta-new"] = {"kind": "okta", "base_url": sb.url + "/okta",
                                      "auth": {"type": "ssws", "token": "okta-token-0123456789"}}
        write_cfg(d, cfg)
        st, body = d.call("POST", "/v1/reload", token=ADMIN_TOKEN)
        assert st == 200, (st, body)
        assert body["result"] == "ok"
        assert "log_level" in body["changed"], body
        want = ["kafka.group_id", "api.listen", "store.path", "targets.okta-new added"]
        for w in want:
            assert w in body["needs_restart"], (w, body)
            assert "%s changed: needs a restart" % w in d.log_text()
        # Not applied: still on the old port; nothing on the new one.
        d.wait_ready()
        try:
            st, _ = http("GET", "http://127.0.0.1:%d/healthz" % other, timeout=2)
        except OSError:
            st = None
        assert st is None, "the new listen address was applied"
        # Reported again while it is not in force.
        r = ctl(d, "reload")
        assert r.returncode == 0, r.stderr
        assert "needs a restart (not applied):" in r.stdout and "kafka.group_id" in r.stdout
        assert "0 changes applied" in r.stdout, r.stdout
        assert reloads(d) == (2, 0)
    finally:
        d.stop()
        sb.stop()


def test_reload_inflight(work):
    """Reloads (SIGHUP and the API, alternately) of limits, credentials,
    tokens and runbooks while steps are in flight: every case completes with
    the runbook it was opened under, and nothing is freed under a step (run
    under the sanitizers)."""
    n = 4
    sb = Sandbox(work, seed_people(n), args=["--latency-ms", "150", "--token", ROTATED])
    d = Daemon(work, sb)
    try:
        d.start()
        publish(d.bootstrap, [("E%04d" % i, leaver_for(i)) for i in range(1, n + 1)])
        wait_for(lambda: len(d.cases()) == n, 60, "a case for every leaver")
        wait_for(lambda: (d.metric("deprov_engine_running_steps") or 0) > 0, 30,
                 "steps in flight")
        in_flight = []
        for k in range(6):
            in_flight.append(d.metric("deprov_engine_running_steps"))
            cfg = read_cfg(d)
            t = cfg["targets"]["salesforce-prod"]
            t["auth"]["token"] = ROTATED if k % 2 == 0 else SANDBOX_TOKEN
            t["limits"]["concurrency"] = 2 if k % 2 == 0 else 16
            t["limits"]["rate_per_sec"] = 50 if k % 2 == 0 else 500
            cfg["api"]["tokens"] = [x for x in cfg["api"]["tokens"] if x["name"] != "ops2"]
            if k % 2 == 0:
                cfg["api"]["tokens"].append(token_entry("ops2", "admin", NEW_TOKEN))
            write_cfg(d, cfg)
            rb = standard_runbook()
            if k % 2 == 0:
                rb["targets"][0]["steps"] = ["freeze", "revoke_tokens", "deactivate"]
            work.file("runbooks/00-standard-leaver.json", rb)
            if k % 2 == 0:
                sighup(d, k)
            else:
                st, body = d.call("POST", "/v1/reload", token=ADMIN_TOKEN)
                assert st == 200, (st, body)
        assert reloads(d) == (6, 0)
        log("steps running at each reload:", in_flight)
        assert in_flight[0] > 0, "no step was in flight at the first reload"
        for i in range(1, n + 1):
            assert step_names(d, "E%04d" % i) == \
                ["deactivate", "freeze", "reassign", "revoke_tokens"]
        no_secrets(d)
        assert d.stop() == 0
    finally:
        d.stop()
        sb.stop()


TESTS = {f.__name__[5:]: f for f in [
    test_sighup_applies,
    test_bad_config_kept,
    test_restart_only_reported,
    test_reload_inflight,
]}

if __name__ == "__main__":
    main(TESTS)
