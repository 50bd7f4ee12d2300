#!/usr/bin/env python3
"""Automatic failover: three deprovd on one PostgreSQL store and one Kafka
consumer group, against a real Apache Kafka broker and a real PostgreSQL
(the ctest fixtures; --kafka-bootstrap-file and --pg-url-file). One is the
writer, the others standbys. During a layoff the writer is killed with
kill -9; a standby takes the store over; that one is then paused (SIGSTOP)
past its lease and the Kafka session timeout and continued: the last
standby has taken over, and the paused one, fenced, calls no target and
exits with status 5. In another test PostgreSQL itself is killed in the
middle of a layoff for longer than the lease, and started again. Every
leaver ends with exactly one case, completed, frozen and deactivated,
nothing left owned, tokens revoked, no duplicate SLA alert, and `deprovctl
audit verify --store postgres:` passes.

Sizes from the environment, so that a longer run can be made by hand:
DEPROV_CLUSTER_PEOPLE (default 300). Run one test:
it_cluster.py --build DIR --kafka-bootstrap-file F --pg-url-file F NAME."""

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (RESPONDER_TOKEN, SOURCE_DIR, Daemon, Sandbox, build_dir,  # noqa: E402
                     check_layoff, http, layoff_runbook, leaver_for, log, main, publish,
                     seed_people, wait_for)
from it_store_pg import LEASE_MS, new_database, psql  # noqa: E402

LIMITS = {"rate_per_sec": 400, "burst": 100, "concurrency": 16, "timeout_ms": 3000,
          "connect_timeout_ms": 2000, "limit_backoff_ms": 500}


class Sub:
    """A directory of its own for one instance (its host)."""

    def __init__(self, work, name):
        self.path = os.path.join(work.path, name)
        os.makedirs(self.path, exist_ok=True)
        self._work, self._name = work, name

    def file(self, name, content):
        return self._work.file(os.path.join(self._name, name), content)


def instance(url, name):
    def extra(cfg):
        cfg["store"].update({"backend": "postgres", "url": url, "lease_ms": LEASE_MS,
                             "instance": name})
    return extra


def ready(d):
    if d.proc is None or d.proc.poll() is not None:
        return False
    try:
        return http("GET", d.url("/readyz"), timeout=2)[0] == 200
    except OSError:
        return False


def start(d):
    """Start d; a standby does not answer until it is the writer."""
    d.start(wait_ready=False)
    return d


def check_outcome(d, sb, url, n):
    """The layoff is done (harness.check_layoff), and at most one SLA breach
    record per case and kind."""
    check_layoff(d, sb, n, timeout=300)
    alerts = [x for x in psql(url, "SELECT case_id, detail FROM audit WHERE kind = "
                              "'sla.breach'").stdout.split("\n") if x]
    assert len(alerts) == len(set(alerts)), alerts[:5]
    log("%d leavers, one case each, all completed, frozen and deactivated" % n)


def verify(url):
    r = subprocess.run([os.path.join(build_dir(), "deprovctl"), "audit", "verify",
                        "--store", "postgres:" + url], capture_output=True, text=True,
                       timeout=120)
    log("audit verify:", r.stdout.strip())
    assert r.returncode == 0 and "intact" in r.stdout, (r.stdout, r.stderr)


def test_failover_three(work):
    n = int(os.environ.get("DEPROV_CLUSTER_PEOPLE", "300"))
    url = new_database()
    sb = Sandbox(work, seed_people(n, owned={"Account": 1}, tokens=1))
    ds = {name: Daemon(Sub(work, name), sb, runbooks=[layoff_runbook()], limits=LIMITS,
                       extra=instance(url, name)) for name in ("a", "b", "c")}
    a, b, c = ds["a"], ds["b"], ds["c"]
    try:
        a.start()
        start(b)
        start(c)
        for d in (b, c):
            wait_for(lambda: "standby (instance" in d.log_text(), 30, "a standby")
            assert not ready(d)
        # The writer names its standbys (/readyz, metrics).
        def standbys(d):
            try:
                pg = http("GET", d.url("/readyz"), timeout=2)[1].get("postgres", {})
            except OSError:
                return None
            return sorted(x["instance"] for x in pg.get("standbys", []))
        wait_for(lambda: standbys(a) == ["b", "c"], 20, "a to list b and c as standbys")
        with urllib.request.urlopen(a.url("/metrics"), timeout=10) as f:
            assert "\ndeprov_store_standbys 2\n" in f.read().decode()
        log("a is the writer; b and c are standbys")
        publish(a.brokers, [("E%04d" % i, leaver_for(i)) for i in range(1, n + 1)])

        # kill -9 of the writer while it works through the layoff.
        wait_for(lambda: len(a.cases()) >= n // 4, 60, "a opened a quarter of the cases")
        t_kill = time.time()
        a.kill9()
        first = wait_for(lambda: next((d for d in (b, c) if ready(d)), None), 60,
                         "a standby to take over", 0.05)
        log("%s took the store over %.2f s after kill -9 of the writer (lease %d ms)"
            % (first.work.path[-1], time.time() - t_kill, LEASE_MS))
        last = c if first is b else b
        # Warm: the standby kept its copy current, and caught up at the take.
        assert "brought the standby's copy up to date" in first.log_text()
        assert "loaded the store from" not in first.log_text()
        # deprovctl given every instance reaches the writer: the dead one
        # and the standby do not listen, and are passed over.
        urls = ",".join(d.url("") for d in (a, last, first))
        env = dict(os.environ, DEPROV_API=urls, DEPROV_TOKEN=RESPONDER_TOKEN)
        r = subprocess.run([os.path.join(build_dir(), "deprovctl"), "--json", "cases",
                            "--limit", "5"], env=env, capture_output=True, text=True,
                           timeout=60)
        assert r.returncode == 0, (r.stdout, r.stderr)
        assert len(json.loads(r.stdout)["cases"]) == 5, r.stdout
        # A standby serves reads from its copy, and refuses what would
        # change anything: nothing done, the writer named.
        st, body = http("GET", last.url("/readyz"), timeout=5)
        assert st == 503 and body["status"] == "standby", (st, body)
        assert first.work.path[-1] in body["standby"], body
        wait_for(lambda: len(last.cases()) >= n // 4, 20, "the standby's copy of the cases")
        st, body = last.call("POST", "/v1/freeze", {"subject": {"employee_id": "E0001"},
                                                    "reason": "INC-7"},
                             token=RESPONDER_TOKEN)
        assert st == 503 and body["error"] == "standby", (st, body)
        # A freeze through the list: the dead writer and the standby passed
        # over, the writer answers (its runbooks here have no freeze: that
        # refusal is the writer's own).
        r = subprocess.run([os.path.join(build_dir(), "deprovctl"), "freeze",
                            "--employee-id", "X9999", "--reason", "INC-7"], env=env,
                           capture_output=True, text=True, timeout=60)
        assert r.returncode == 1 and "no_runbook" in r.stderr, (r.stdout, r.stderr)
        # Only a standby left in the list: its refusal is the one told.
        r = subprocess.run([os.path.join(build_dir(), "deprovctl"), "--api",
                            ",".join(d.url("") for d in (a, last)), "freeze",
                            "--employee-id", "X9999", "--reason", "INC-7"], env=env,
                           capture_output=True, text=True, timeout=60)
        assert r.returncode == 1 and "standby" in r.stderr, (r.returncode, r.stderr)
        # The dead writer is no standby: the new writer lists only the last.
        wait_for(lambda: standbys(first) == [last.work.path[-1]], 20,
                 "the new writer to list the last standby only")

        # The new writer is paused past its lease and the session timeout.
        wait_for(lambda: len([x for x in first.cases() if x["state"] == "completed"])
                 > n // 3, 120, "the new writer completing cases")
        os.kill(first.proc.pid, signal.SIGSTOP)
        t_stop = time.time()
        try:
            wait_for(lambda: ready(last), 60, "the last standby to take over", 0.05)
            log("%s took the store over %.2f s after the writer was paused"
                % (last.work.path[-1], time.time() - t_stop))
            time.sleep(max(0.0, 8.0 - (time.time() - t_stop)))   # past session.timeout.ms
        finally:
            os.kill(first.proc.pid, signal.SIGCONT)
        assert first.proc.wait(30) == 5, "the fenced writer exits with status 5"
        assert "fenced: another deprovd has taken the store" in first.log_text()
        log("the paused writer, continued, was fenced and exited (status 5)")

        check_outcome(last, sb, url, n)
        assert psql(url, "SELECT value FROM meta WHERE key = 'writer_epoch'"
                    ).stdout.strip() == "3"
        assert last.stop() == 0
        verify(url)
    finally:
        for d in ds.values():
            if d.proc is not None and d.proc.poll() is None:
                try:
                    os.kill(d.proc.pid, signal.SIGCONT)
                except ProcessLookupError:
                    pass
            d.stop()
        sb.stop()


def test_pg_restart(work):
    """PostgreSQL killed in the middle of a layoff run by a writer with a
    standby, for longer than the lease, then started again on the same data:
    whichever instance holds the store then (the writer, its lease renewed;
    or the standby, and the writer fenced with status 5) finishes the
    layoff, with the same outcome as without the outage."""
    n = int(os.environ.get("DEPROV_CLUSTER_PEOPLE", "300")) * 2 // 3
    tool = os.path.join(SOURCE_DIR, "tests", "tools", "pg-server")
    pgdir = os.path.join(work.path, "pg")
    # Durable: killed, a server with synchronous_commit off loses the
    # commits of its last moments, acknowledged or not (docs/CLUSTER.md).
    r = subprocess.run([tool, "start", "--dir", pgdir, "--durable",
                        "--watch-pid", str(os.getpid())],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    url = [x.split("=", 1)[1] for x in r.stdout.splitlines() if x.startswith("PG_URL=")][0]
    sb = Sandbox(work, seed_people(n, owned={"Account": 1}, tokens=1))
    ds = {name: Daemon(Sub(work, name), sb, runbooks=[layoff_runbook()], limits=LIMITS,
                       extra=instance(url, name)) for name in ("a", "b")}
    a, b = ds["a"], ds["b"]
    try:
        a.start()
        start(b)
        wait_for(lambda: "standby (instance" in b.log_text(), 30, "a standby")
        publish(a.brokers, [("E%04d" % i, leaver_for(i)) for i in range(1, n + 1)])
        wait_for(lambda: len(a.cases()) >= n // 3, 60, "a opened a third of the cases")
        subprocess.run([tool, "pause", "--dir", pgdir, "--kill"], check=True, timeout=60)
        t_down = time.time()
        wait_for(lambda: http("GET", a.url("/readyz"), timeout=2)[0] == 503, 30,
                 "the writer not ready without PostgreSQL")
        time.sleep(max(0.0, LEASE_MS / 1000 * 2 - (time.time() - t_down)))
        subprocess.run([tool, "resume", "--dir", pgdir], check=True, timeout=120)
        log("PostgreSQL was down %.1f s (lease %d ms)" % (time.time() - t_down, LEASE_MS))
        writer = wait_for(lambda: next((d for d in (a, b) if ready(d)), None), 90,
                          "a writer after the outage", 0.1)
        if writer is b:
            assert a.proc.wait(30) == 5, "the fenced writer exits with status 5"
            log("the standby took the store over after the outage; the old writer "
                "exited with status 5")
        else:
            log("the writer renewed its lease after the outage and went on")
        check_outcome(writer, sb, url, n)
        assert writer.stop() == 0
        verify(url)
    finally:
        for d in ds.values():
            d.stop()
        sb.stop()
        subprocess.run([tool, "stop", "--dir", pgdir], timeout=120)


TESTS = {"failover_three": test_failover_three, "pg_restart": test_pg_restart}

if __name__ == "__main__":
    main(TESTS, args="--build DIR --kafka-bootstrap-file FILE --pg-url-file FILE")
