#!/usr/bin/env python3
"""Chaos: a layoff against the sandbox while deprovd is killed (kill -9) and
stopped (SIGTERM) at random moments, and the sandbox answers some calls with
429, 503 or a reset connection. Every leaver must end with exactly one case,
completed, frozen and deactivated, nothing left owned, tokens revoked, and
the audit trail must verify.

The events live in a standalone Kafka cluster (deprov-kafka-mock), so they
survive the daemon. Sizes come from the environment, so that bench/ can run
the long version: DEPROV_CHAOS_PEOPLE (default 300), DEPROV_CHAOS_KILLS (8),
DEPROV_CHAOS_TERMS (2), DEPROV_CHAOS_SEED (random). Run one test:
it_chaos.py --build DIR NAME."""

import os
import random
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
from harness import (Daemon, KafkaMock, Sandbox, build_dir, check_layoff,  # noqa: E402
                     layoff_runbook, leaver_for, log, main, publish, seed_people)

LIMITS = {"rate_per_sec": 400, "burst": 100, "concurrency": 16, "timeout_ms": 3000,
          "connect_timeout_ms": 2000, "limit_backoff_ms": 500}


def test_kill_and_stop_during_layoff(work):
    n = int(os.environ.get("DEPROV_CHAOS_PEOPLE", "300"))
    kills = int(os.environ.get("DEPROV_CHAOS_KILLS", "8"))
    terms = int(os.environ.get("DEPROV_CHAOS_TERMS", "2"))
    seed = int(os.environ.get("DEPROV_CHAOS_SEED", str(random.randrange(1 << 30))))
    rnd = random.Random(seed)
    log("chaos: %d people, %d kill -9, %d SIGTERM, seed %d" % (n, kills, terms, seed))
    sb = Sandbox(work, seed_people(n, owned={"Account": 1}, tokens=1))
    for rule in ({"mode": "status", "status": 429, "rate": 0.04},
                 {"mode": "status", "status": 503, "rate": 0.04},
                 {"mode": "reset", "rate": 0.02}):
        rule["path"] = "/services/data/"
        sb.fault(rule)
    mock = KafkaMock(work)
    publish(mock.bootstrap, [("E%04d" % i, leaver_for(i)) for i in range(1, n + 1)])
    d = Daemon(work, sb, runbooks=[layoff_runbook()], limits=LIMITS, brokers=mock.bootstrap)
    acts = ["kill"] * kills + ["term"] * terms
    rnd.shuffle(acts)
    added = []
    try:
        for k, act in enumerate(acts):
            d.start(wait_ready=False)
            alive = rnd.uniform(0.5, 4.0)
            time.sleep(alive)
            t0 = time.time()
            if act == "kill":
                d.kill9()
            else:
                d.stop()
                assert d.proc.returncode == 0, "SIGTERM: exit %s" % d.proc.returncode
            added.append(time.time() - t0)
            log("round %d: %s after %.1f s" % (k + 1, act, alive))
        sb.clear_faults()
        d.start(wait_ready=False)

        cases = check_layoff(d, sb, n)
        dl = [c for c in cases if c.get("error")]
        log("cases: %d, all completed; with an error kept: %d" % (len(cases), len(dl)))
        d.stop()
        r = subprocess.run([os.path.join(build_dir(), "deprovctl"), "audit", "verify",
                            "--config", d.config], capture_output=True, text=True,
                           timeout=120)
        log("audit verify:", r.stdout.strip())
        assert r.returncode == 0, (r.stdout, r.stderr)
        assert "intact" in r.stdout, r.stdout
    finally:
        d.stop()
        sb.stop()
        mock.stop()


TESTS = {f.__name__[5:]: f for f in [test_kill_and_stop_during_layoff]}

if __name__ == "__main__":
    main(TESTS)
