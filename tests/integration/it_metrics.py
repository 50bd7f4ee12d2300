#!/usr/bin/env python3
"""Metrics and SLA alert integration tests: GET /metrics of a real deprovd
(checked with promtool and against what happened), and SLA breach webhooks
received by small HTTP servers in this process: on time, in both formats,
through retries, and once only across restarts.
Run one test: it_metrics.py --build DIR NAME."""

import json
import os
import re
import shutil
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

sys.path.insert(0, os.path.dirname(__file__))
from harness import (Daemon, Sandbox, leaver_for, log, publish, main, run,  # noqa: E402
                     seed_people, wait_for)

SKIP = 77   # ctest SKIP_RETURN_CODE
HOOK_SECRET = "Bearer hook-secret-0123456789"


def find_promtool():
    """promtool from PATH or where Debian's prometheus package puts it."""
    p = shutil.which("promtool")
    if p:
        return p
    for d in ("/usr/bin", "/usr/local/bin", "/usr/sbin", "/opt/prometheus"):
        c = os.path.join(d, "promtool")
        if os.access(c, os.X_OK):
            return c
    return None


LINE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)$')
LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


def parse_metrics(text):
    """{(name, frozenset(labels.items())): value} and {name: type}."""
    samples, types = {}, {}
    for line in text.splitlines():
        if line.startswith("# TYPE "):
            _, _, name, typ = line.split(" ", 3)
            types[name] = typ
            continue
        if not line or line.startswith("#"):
            continue
        m = LINE.match(line)
        assert m, "unparsable line: %r" % line
        labels = dict(LABEL.findall(m.group(3) or ""))
        samples[(m.group(1), frozenset(labels.items()))] = float(m.group(4))
    return samples, types


def sample(samples, name, **labels):
    return samples.get((name, frozenset(labels.items())))


def scrape(d):
    """GET /metrics without a token: (text, content type)."""
    import urllib.request
    with urllib.request.urlopen(d.url("/metrics"), timeout=10) as r:
        assert r.status == 200, r.status
        return r.read().decode(), r.headers.get("Content-Type")


def promtool_check(promtool, text):
    r = subprocess.run([promtool, "check", "metrics"], input=text.encode(),
                       capture_output=True, timeout=60)
    out = (r.stdout + r.stderr).decode(errors="replace")
    assert r.returncode == 0, "promtool check metrics failed (%d):\n%s" % (r.returncode, out)


class Receiver:
    """A webhook endpoint on 127.0.0.1: records every POST with its arrival
    time and answers from `statuses` in turn (the last one repeats)."""

    def __init__(self, name, statuses=(200,)):
        self.name = name
        self.statuses = list(statuses)
        self.requests = []
        self.lock = threading.Lock()
        rec = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                n = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(n)
                with rec.lock:
                    k = len(rec.requests)
                    status = rec.statuses[min(k, len(rec.statuses) - 1)]
                    rec.requests.append({"t": time.time(), "path": self.path,
                                         "headers": dict(self.headers.items()),
                                         "body": body, "status": status})
                out = b'{"ok":true}' if status < 300 else b'{"error":"busy"}'
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(out)))
                self.end_headers()
                self.wfile.write(out)

            def log_message(self, *a):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = "http://127.0.0.1:%d/hook/%s" % (self.server.server_address[1], name)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def got(self):
        with self.lock:
            return list(self.requests)

    def delivered(self):
        return [r for r in self.got() if r["status"] < 300]

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


def tight_runbook(freeze_s=1, complete_s=600):
    return {"name": "sla-tight", "match": {"type": ["io.deprov.leaver"]},
            "sla": {"freeze_within_s": freeze_s, "complete_within_s": complete_s},
            "retry": {"max_attempts": 10, "initial_backoff_ms": 50, "max_backoff_ms": 500},
            "targets": [{"select": {"kind": "salesforce"},
                         "steps": ["freeze", "revoke_tokens", "deactivate"]}]}


def alerts_config(hooks):
    def extra(cfg):
        cfg["alerts"] = {"webhooks": hooks, "max_attempts": 6, "initial_backoff_ms": 50,
                         "max_backoff_ms": 300, "timeout_ms": 3000}
    return extra


def test_promtool_and_values(work):
    promtool = find_promtool()
    if promtool is None:
        log("SKIP: promtool not found (./deploy/install-deps installs Debian's prometheus)")
        return SKIP
    n = 3
    sb = Sandbox(work, seed_people(n))
    d = Daemon(work, sb).start()
    try:
        text, ctype = scrape(d)
        assert ctype.startswith("text/plain; version=0.0.4"), ctype
        promtool_check(promtool, text)   # a fresh daemon, no case yet

        publish(d.bootstrap, [("E%04d" % i, leaver_for(i)) for i in range(1, n + 1)])
        for i in range(1, n + 1):
            d.wait_case("E%04d" % i, timeout=90)
        text, _ = scrape(d)
        promtool_check(promtool, text)
        s, types = parse_metrics(text)
        rb, tgt = "standard-leaver", "salesforce-prod"
        assert types["deprov_time_to_freeze_seconds"] == "histogram", types
        assert types["deprov_cases"] == "gauge"
        assert types["deprov_steps_total"] == "counter"
        assert sample(s, "deprov_cases", state="completed") == n, text
        for st in ("received", "freezing", "contained", "remediating", "escalated"):
            assert sample(s, "deprov_cases", state=st) == 0, (st, text)
        assert sample(s, "deprov_cases_opened_total", runbook=rb) == n
        assert sample(s, "deprov_time_to_freeze_seconds_count", runbook=rb) == n
        assert sample(s, "deprov_time_to_freeze_seconds_bucket", runbook=rb, le="+Inf") == n
        assert sample(s, "deprov_time_to_complete_seconds_count", runbook=rb) == n
        assert 0 <= sample(s, "deprov_time_to_freeze_seconds_sum", runbook=rb) < 60 * n
        for step in ("freeze", "revoke_tokens", "reassign", "deactivate"):
            assert sample(s, "deprov_steps_total", target=tgt, step=step,
                          outcome="succeeded") == n, (step, text)
        assert sample(s, "deprov_sla_breaches_total", runbook=rb, kind="freeze") == 0
        assert sample(s, "deprov_events_consumed_total") == n
        assert sample(s, "deprov_dead_letters_total") == 0
        assert sample(s, "deprov_kafka_assigned") == 1
        lag = sample(s, "deprov_kafka_consumer_lag")
        assert lag is None or lag == 0, lag
        ok = [e for e in sb.log() if 200 <= e["status"] < 300]
        assert sample(s, "deprov_http_requests_total", target=tgt, **{"class": "2xx"}) == len(ok)
        assert sample(s, "deprov_http_requests_total", target=tgt, **{"class": "5xx"}) == 0
        assert sample(s, "deprov_target_inflight", target=tgt) == 0
        assert sample(s, "deprov_target_queued", target=tgt) == 0
        assert sample(s, "deprov_target_circuit_state", target=tgt) == 0
        assert 0 <= sample(s, "deprov_target_api_usage_ratio", target=tgt) <= 1
        assert 0 < sample(s, "deprov_target_rate_limit_remaining", target=tgt) <= 100
        # Label values are names from the configuration: never people.
        for i in range(1, n + 1):
            assert "E%04d" % i not in text and "emp%04d" % i not in text
        assert "@" not in text and "sandbox-static-token" not in text

        # Cases by state survive a restart (terminal counts from the store).
        assert d.stop() == 0
        d.start()
        text, _ = scrape(d)
        promtool_check(promtool, text)
        s, _ = parse_metrics(text)
        assert sample(s, "deprov_cases", state="completed") == n, text
        assert sample(s, "deprov_time_to_freeze_seconds_count", runbook=rb) is None
    finally:
        d.stop()
        sb.stop()


def check_generic(body, case_id, kind="freeze", public_url=None):
    p = json.loads(body)
    assert p["type"] == "deprov.sla.breach", p
    assert p["case_id"] == case_id, p
    assert p["subject_key"] == "E0001", p
    assert p["runbook"] == "sla-tight", p
    assert p["kind"] == kind, p
    assert re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$", p["deadline"]), p
    assert re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$", p["breached_at"]), p
    assert p["state"] in ("received", "freezing"), p
    # The fragment the dashboard opens a case from; the link only when
    # api.public_url says where the dashboard is.
    assert p["dashboard_path"] == "/#case=%d" % case_id, p
    want = public_url + "/#case=%d" % case_id if public_url else None
    assert p["dashboard_url"] == want, (p, want)
    return p


PUBLIC_URL = "https://deprov.acme.example/ops"


def alerts_and_public_url(hooks):
    def extra(cfg):
        alerts_config(hooks)(cfg)
        cfg["api"]["public_url"] = PUBLIC_URL + "/"
    return extra


def audit_rows(work, kind):
    """(case_id, detail) of the audit records of a kind; None without an audit table."""
    import sqlite3
    db = sqlite3.connect(os.path.join(work.path, "var", "deprov.db"))
    try:
        if not db.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'audit'").fetchone():
            return None
        return db.execute("SELECT case_id, detail FROM audit WHERE kind = ? ORDER BY seq",
                          (kind,)).fetchall()
    finally:
        db.close()


def test_sla_breach_webhooks(work):
    gen, slack = Receiver("soc"), Receiver("slack")
    flaky = Receiver("flaky", statuses=(503, 503, 200))
    sb = Sandbox(work, seed_people(1))
    # Every data call takes 2.5 s: the freeze cannot make a 1 s deadline.
    sb.fault({"path": "/services/data/", "mode": "latency", "latency_ms": 2500})
    hooks = [{"name": "soc", "url": gen.url, "format": "generic", "auth_header": HOOK_SECRET},
             {"name": "slack", "url": slack.url, "format": "slack"},
             {"name": "flaky", "url": flaky.url}]
    d = Daemon(work, sb, runbooks=[tight_runbook()], extra=alerts_and_public_url(hooks)).start()
    receivers = (gen, slack, flaky)
    try:
        publish(d.bootstrap, [("E0001", leaver_for(1))])
        wait_for(lambda: gen.got(), 30, "the generic webhook")
        wait_for(lambda: slack.got(), 5, "the slack webhook")
        case = d.cases(subject="E0001")[0]
        full = d.case(case["id"])
        deadline = full["freeze_deadline_ms"] / 1000.0
        for r in (gen, slack):
            late = r.got()[0]["t"] - deadline
            log("%s webhook %.3f s after the deadline" % (r.name, late))
            assert -0.05 <= late < 1.0, (r.name, late)
        g = gen.got()[0]
        assert g["headers"].get("Authorization") == HOOK_SECRET, g["headers"]
        assert g["headers"].get("Content-Type") == "application/json", g["headers"]
        p = check_generic(g["body"], case["id"], public_url=PUBLIC_URL)
        assert abs(p["deadline_ms"] - full["freeze_deadline_ms"]) == 0, p
        sp = json.loads(slack.got()[0]["body"])
        assert "Authorization" not in slack.got()[0]["headers"]
        assert "SLA breach" in sp["text"] and "case %d" % case["id"] in sp["text"], sp
        assert isinstance(sp["blocks"], list) and sp["blocks"][0]["type"] == "header", sp
        link = sp["blocks"][-1]["elements"][0]["text"]
        assert link == "<%s/#case=%d|Open case %d on the deprov dashboard>" % (
            PUBLIC_URL, case["id"], case["id"]), link

        # 503, 503, then 200: delivered on the third attempt.
        wait_for(lambda: flaky.delivered(), 15, "the flaky webhook to get it")
        assert [r["status"] for r in flaky.got()] == [503, 503, 200], flaky.got()
        assert all(r["body"] == flaky.got()[0]["body"] for r in flaky.got())
        check_generic(flaky.got()[-1]["body"], case["id"], public_url=PUBLIC_URL)

        text, _ = scrape(d)
        s, _ = parse_metrics(text)
        assert sample(s, "deprov_sla_breaches_total", runbook="sla-tight", kind="freeze") == 1, text
        assert sample(s, "deprov_sla_breaches_total", runbook="sla-tight", kind="complete") == 0
        for name in ("soc", "slack", "flaky"):
            assert sample(s, "deprov_sla_alerts_total", webhook=name, outcome="delivered") == 1, text
        tl = [t for t in d.case(case["id"])["timeline"] if t["kind"] == "sla"]
        assert len(tl) == 1 and tl[0]["detail"].startswith("freeze deadline missed"), tl
        counts = [len(r.got()) for r in receivers]

        # Restart while the case is still open: it is resumed, its deadline
        # is past, and its breach is already recorded: no second alert.
        assert d.cases(subject="E0001")[0]["state"] != "completed"
        assert d.stop() == 0
        d.start()
        time.sleep(3)
        assert [len(r.got()) for r in receivers] == counts, [r.got() for r in receivers]
        sb.clear_faults()
        c = d.wait_case("E0001", timeout=90)
        time.sleep(0.5)
        assert [len(r.got()) for r in receivers] == counts
        tl = [t for t in d.case(c["id"])["timeline"] if t["kind"] == "sla"]
        assert len(tl) == 1, tl
        assert "resumed" in d.log_text()
        assert HOOK_SECRET.split()[1] not in d.log_text()
        assert gen.url not in d.log_text() and slack.url not in d.log_text()
        # The breach is in the audit trail once (deprovd wires sla's alert hook).
        assert d.stop() == 0
        rows = audit_rows(work, "sla.breach")
        if rows is None:
            log("no audit table in this build: audit check skipped")
        else:
            assert len(rows) == 1 and rows[0][0] == c["id"], rows
            assert json.loads(rows[0][1])["kind"] == "freeze", rows
            assert HOOK_SECRET.split()[1] not in rows[0][1]
    finally:
        d.stop()
        sb.stop()
        for r in receivers:
            r.stop()


def test_sla_deadline_passed_while_down(work):
    """A deadline that passes while deprovd is down fires at once on resume, once."""
    gen = Receiver("soc")
    sb = Sandbox(work, seed_people(1))
    sb.fault({"path": "/services/data/", "mode": "latency", "latency_ms": 2000})
    d = Daemon(work, sb, runbooks=[tight_runbook(freeze_s=4)],
               extra=alerts_config([{"name": "soc", "url": gen.url}]))
    try:
        d.start()
        publish(d.bootstrap, [("E0001", leaver_for(1))])
        wait_for(lambda: d.cases(subject="E0001"), 30, "the case")
        case = d.cases(subject="E0001")[0]
        deadline = d.case(case["id"])["freeze_deadline_ms"] / 1000.0
        assert time.time() < deadline - 1, "too slow to test this"
        d.kill9()
        wait_for(lambda: time.time() > deadline + 0.5, 10, "the deadline to pass")
        t0 = time.time()
        d.start()
        wait_for(lambda: gen.got(), 30, "the alert after resume")
        log("alert %.2f s after restart" % (gen.got()[0]["t"] - t0))
        # No api.public_url here: no link, rather than a relative one.
        p = check_generic(gen.got()[0]["body"], case["id"])
        assert p["breached_at"] > p["deadline"], p
        # Once: not again after another restart.
        assert d.stop() == 0
        d.start()
        time.sleep(3)
        assert len(gen.got()) == 1, gen.got()
        sb.clear_faults()
        d.wait_case("E0001", timeout=90)
        assert len(gen.got()) == 1, gen.got()
    finally:
        d.stop()
        sb.stop()
        gen.stop()


TESTS = {f.__name__[5:]: f for f in [
    test_promtool_and_values, test_sla_breach_webhooks, test_sla_deadline_passed_while_down]}


def run_one(test):
    """harness.run, with SKIP passed through."""
    result = {}

    def wrapped(work):
        result["rc"] = test(work)
    wrapped.__name__ = test.__name__
    rc = run(wrapped)
    return SKIP if rc == 0 and result.get("rc") == SKIP else rc


if __name__ == "__main__":
    main(TESTS, run_one)
