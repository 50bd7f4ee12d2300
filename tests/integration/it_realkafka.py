#!/usr/bin/env python3
"""Kafka behaviour that only a real broker shows: two deprovd in one consumer
group (partitions shared, kill -9 of one and the other taking over from the
last committed offset), static membership with the cooperative protocol,
consumer lag (partitions not read from yet included) and committed offsets,
readiness (at the assignment; a member without partitions), the partitions
/readyz lists, kafka.properties reaching the right client. Needs a broker
started by tests/tools/kafka-broker (the CTest fixture): it_realkafka.py
--build DIR --kafka-bootstrap-file FILE NAME.

`failover_bench` is not a test but the measurement behind docs/KAFKA.md: how
long after an instance stops (kill -9 or SIGTERM) the survivor owns its
partitions and has processed what was published meanwhile, with eager or
cooperative rebalancing, with and without static membership."""

import datetime
import json
import os
import sys
import time
import urllib.request

sys.path.insert(0, os.path.dirname(__file__))
import harness  # noqa: E402
from harness import (REAL_KAFKA, Daemon, Sandbox, consume, http, kafka_admin,  # noqa: E402
                     kafka_topic, leaver_for, log, main, publish, run, seed_people, wait_for)

GROUP = "deprovd"           # the group id tests give deprovd (namespaced per test)
TOPIC = "hr.leavers"
SESSION_MS = 6000           # harness.Daemon's session.timeout.ms


class Sub:
    """A directory of its own inside the test's work dir, for a second daemon."""

    def __init__(self, work, name):
        self.path = os.path.join(work.path, name)
        os.makedirs(self.path, exist_ok=True)

    def file(self, name, content):
        p = os.path.join(self.path, name)
        os.makedirs(os.path.dirname(p), exist_ok=True)
        with open(p, "w") as f:
            f.write(content if isinstance(content, str) else json.dumps(content, indent=1))
        return p


def props(**kv):
    """An extra= for Daemon: librdkafka properties through kafka.properties."""
    def apply(cfg):
        cfg["kafka"]["properties"].update({k.replace("_", "."): str(v) for k, v in kv.items()})
    return apply


def log_time(ts):
    return datetime.datetime.strptime(ts, "%Y-%m-%dT%H:%M:%S.%fZ").replace(
        tzinfo=datetime.timezone.utc).timestamp()


def ownership(d, since=0.0):
    """[(time, partitions owned)] after each rebalance callback of d logged at
    or after `since`, from its log ("assigned N partitions", "revoked N
    partitions"; the count starts from 0 at each start of the process)."""
    out, n = [], 0
    for line in d.log_text().splitlines():
        try:
            e = json.loads(line)
        except ValueError:
            continue
        if e.get("mod") != "kafka":
            continue
        words = e.get("msg", "").split()
        if words[:1] == ["consuming"]:
            n = 0
        elif len(words) == 3 and words[2] == "partitions" and words[0] in ("assigned",
                                                                            "revoked"):
            n += int(words[1]) if words[0] == "assigned" else -int(words[1])
            t = log_time(e["ts"])
            if t >= since:
                out.append((t, n))
    return out


def wait_owned(d, n, since, timeout=30):
    """The first time at or after `since` that d owned n partitions."""
    def got():
        for t, k in ownership(d, since):
            if k == n:
                return t
        return None
    return wait_for(got, timeout, "%s to own %d partitions" % (d.work.path, n), 0.05)


def subjects(d):
    """{employee id: [case, ...]} in d's store."""
    out = {}
    for c in d.cases():
        out.setdefault(c["subject"].get("employee_id"), []).append(c)
    return out


def positions(bootstrap, topic=TOPIC):
    """{key: (partition, offset)} of every message of the topic."""
    out = {}
    for line in consume(bootstrap, topic, fmt="%k %p %o\n").splitlines():
        k, p, o = line.split()
        out[k] = (int(p), int(o))
    return out


def committed(bootstrap, topic=TOPIC, group=GROUP):
    """{partition: (committed offset, high watermark)} of the group."""
    out = {}
    for line in kafka_admin(bootstrap, "committed", kafka_topic(group),
                            kafka_topic(topic)).splitlines():
        p, c, h = (int(x) for x in line.split())
        out[p] = (c, h)
    return out


def all_committed(bootstrap):
    c = committed(bootstrap)
    return c if all(co == hi or hi == 0 for co, hi in c.values()) else None


def readyz(d):
    try:
        return http("GET", d.url("/readyz"), timeout=2)[1] or {}
    except OSError:
        return {}      # not listening yet


def test_group_two_instances(work):
    """Two deprovd in one group on a topic of 4 partitions: every message is
    consumed by exactly one of them; after kill -9 of one, the other takes its
    partitions over and goes on from its last committed offset, so a leaver
    has a case in both stores only if the dead one had consumed it without
    committing; once the dead one is back it finishes the cases it had."""
    n, wave = 200, 100
    sb = Sandbox(work, seed_people(n, owned={"Account": 1}, tokens=1))
    a = Daemon(Sub(work, "a"), sb)
    b = Daemon(Sub(work, "b"), sb)
    bootstrap = a.brokers
    try:
        t0 = time.time()
        a.start()
        b.start()
        wait_owned(a, 2, t0)
        wait_owned(b, 2, t0)
        log("two members, two partitions each, %.1f s after the first start" % (time.time() - t0))
        publish(bootstrap, [("E%04d" % i, leaver_for(i)) for i in range(1, wave + 1)])

        def wave_one():
            sa, sb_ = subjects(a), subjects(b)
            return (sa, sb_) if len(sa) + len(sb_) >= wave else None
        sa, sb_ = wait_for(wave_one, 60, "a case for each of the first %d" % wave, 0.2)
        assert not set(sa) & set(sb_), "consumed by both: %s" % sorted(set(sa) & set(sb_))
        assert len(sa) + len(sb_) == wave and sa and sb_, (len(sa), len(sb_))
        pos = positions(bootstrap)
        parts_a = {pos[s][0] for s in sa}
        parts_b = {pos[s][0] for s in sb_}
        assert not parts_a & parts_b and len(parts_a | parts_b) == 4, (parts_a, parts_b)
        log("first %d: %d in a (partitions %s), %d in b (partitions %s)" %
            (wave, len(sa), sorted(parts_a), len(sb_), sorted(parts_b)))
        wait_for(lambda: all_committed(bootstrap), 20, "offsets committed up to the end")

        # The second wave, and a's sudden death while it reads its share.
        publish(bootstrap, [("E%04d" % i, leaver_for(i)) for i in range(wave + 1, n + 1)])
        time.sleep(0.3)
        t_kill = time.time()
        a.kill9()
        # b cannot own a's partitions before a's session times out: this is
        # where a left off.
        at_kill = committed(bootstrap)
        t_b4 = wait_owned(b, 4, t_kill, timeout=60)
        log("b owned all 4 partitions %.2f s after kill -9 of a (session.timeout.ms %d)" %
            (t_b4 - t_kill, SESSION_MS))
        assert t_b4 - t_kill < SESSION_MS / 1000 + 10, t_b4 - t_kill

        pos = positions(bootstrap)
        assert len(pos) == n, len(pos)
        want_b = {s for s, (p, o) in pos.items()
                  if p in parts_b or o >= at_kill[p][0]}

        def b_caught_up():
            got = set(subjects(b))
            return got if got >= want_b else None
        got_b = wait_for(b_caught_up, 60, "b to process what a left", 0.3)
        t_done = time.time()
        assert got_b == want_b, sorted(got_b ^ want_b)
        wait_for(lambda: readyz(b).get("kafka_lag") == 0, 20, "b's lag 0")
        wait_for(lambda: all_committed(bootstrap), 20, "b to commit everything")

        # a comes back and finishes the cases its store holds.
        a.start()
        a.wait_ready()

        def settled():
            ca, cb = subjects(a), subjects(b)
            open_ = [c for cs in list(ca.values()) + list(cb.values()) for c in cs
                     if c["state"] not in ("completed",)]
            return (ca, cb) if not open_ else None
        ca, cb = wait_for(settled, 120, "every case completed in both stores", 0.5)
        only_a, only_b = set(ca) - set(cb), set(cb) - set(ca)
        twice = set(ca) & set(cb)
        log("after kill -9 at %.2f s: %d subjects only in a, %d only in b, %d in both; "
            "b had the rest %.1f s after the kill" %
            (t_kill - t0, len(only_a), len(only_b), len(twice), t_done - t_kill))
        everyone = {"E%04d" % i for i in range(1, n + 1)}
        assert set(ca) | set(cb) == everyone, sorted(everyone - set(ca) - set(cb))
        # In both stores only what a had read past its last commit.
        uncommitted_a = {s for s, (p, o) in pos.items() if p in parts_a and o >= at_kill[p][0]}
        assert twice <= uncommitted_a, sorted(twice - uncommitted_a)
        assert all(len(cs) == 1 for cs in list(ca.values()) + list(cb.values()))
        log("a had consumed %d messages past its last commit; %d of them it had made durable" %
            (len(uncommitted_a), len(twice)))
    finally:
        a.stop()
        b.stop()
        sb.stop()


def test_group_static_cooperative(work):
    """Static membership (group.instance.id) with cooperative-sticky: an
    instance that stops and is back within session.timeout.ms keeps its
    partitions and the other instance never gives up its own; one that stays
    away is replaced after session.timeout.ms, not before."""
    sb = Sandbox(work, seed_people(40, owned={"Account": 1}, tokens=1))
    coop = {"partition_assignment_strategy": "cooperative-sticky"}
    a = Daemon(Sub(work, "a"), sb, extra=props(group_instance_id="deprovd-a", **coop))
    b = Daemon(Sub(work, "b"), sb, extra=props(group_instance_id="deprovd-b", **coop))
    bootstrap = a.brokers
    try:
        t0 = time.time()
        a.start()
        b.start()
        wait_owned(a, 2, t0)
        wait_owned(b, 2, t0)
        t_steady = time.time()
        # b restarts (SIGTERM, back 2 s later): nobody else gets its partitions.
        t_stop = time.time()
        assert b.stop() == 0
        publish(bootstrap, [("E%04d" % i, leaver_for(i)) for i in range(1, 21)])
        time.sleep(2)
        t_back = time.time()
        b.start(wait_ready=False)
        t_b2 = wait_owned(b, 2, t_back, timeout=30)
        time.sleep(max(0, t_stop + SESSION_MS / 1000 + 2 - time.time()))
        hist_a = ownership(a, t0)
        assert all(k == 2 for t, k in hist_a if t > t_stop), hist_a
        log("b stopped and back after %.1f s, owned its 2 partitions %.2f s after its start; "
            "a kept its 2 throughout" % (t_back - t_stop, t_b2 - t_back))
        for i in range(1, 21):
            wait_for(lambda: subjects(a).get("E%04d" % i) or subjects(b).get("E%04d" % i), 30,
                     "a case of E%04d" % i, 0.2)
        # b stops for good: a takes its partitions after the session timeout.
        t_stop = time.time()
        b.stop()
        t_a4 = wait_owned(a, 4, t_stop, timeout=60)
        log("b stopped for good: a owned 4 partitions %.2f s later (session.timeout.ms %d)" %
            (t_a4 - t_stop, SESSION_MS))
        assert t_a4 - t_stop >= SESSION_MS / 1000 - 1, t_a4 - t_stop
        # Cooperative: a never gave up its own partitions on the way.
        hist_a = ownership(a, t_steady)
        assert min(k for _, k in hist_a) >= 2, hist_a
        publish(bootstrap, [("E%04d" % i, leaver_for(i)) for i in range(21, 41)])
        for i in range(21, 41):
            a.wait_case("E%04d" % i, states=("completed",), timeout=30)
    finally:
        a.stop()
        b.stop()
        sb.stop()


def test_lag_and_commits(work):
    """Readiness and lag on a real broker: a backlog shows as kafka_lag > 0
    while intake is paused, lag goes to 0 once it is worked off, and the
    group's committed offsets reach the high watermark (at-least-once: only
    durable cases are committed)."""
    n = 120

    def small(cfg):
        cfg["engine"] = {"max_open_cases": 10, "resume_open_cases": 5}
    sb = Sandbox(work, seed_people(n, owned={"Account": 1}, tokens=1), args=["--latency-ms", "20"])
    d = Daemon(work, sb, extra=small)
    bootstrap = d.brokers
    try:
        # The backlog is there before deprovd starts.
        harness.kafka_create_topics(bootstrap, [(TOPIC, 4), ("deprov.dlq", 1)])
        publish(bootstrap, [("E%04d" % i, leaver_for(i)) for i in range(1, n + 1)])
        d.start(wait_ready=False)
        most, paused, ready_lagging = 0, False, None
        end = time.time() + 120
        while time.time() < end:
            r = readyz(d)
            lag = r.get("kafka_lag", -1)
            most = max(most, lag)
            paused = paused or r.get("intake_paused", False)
            if lag > 0 and r.get("status") == "ok" and ready_lagging is None:
                ready_lagging = r     # ready while behind: lag is reported, not fatal
                log("readyz kafka_lag %d while %d of %d messages were unread" %
                    (lag, n - len(d.cases()), n))
            if lag == 0 and len([c for c in d.cases() if c["state"] == "completed"]) == n:
                break
            time.sleep(0.1)
        log("largest lag seen: %d of %d; intake paused: %s; ready with a lag: %s" %
            (most, n, paused, ready_lagging))
        assert readyz(d)["kafka_lag"] == 0
        assert most > 10 and paused and ready_lagging, (most, paused, ready_lagging)
        c = wait_for(lambda: all_committed(bootstrap), 20, "committed offsets at the end")
        assert sum(h for _, h in c.values()) == n, c
        with urllib.request.urlopen(d.url("/metrics"), timeout=10) as resp:
            metrics = resp.read().decode()
        assert "\ndeprov_kafka_consumer_lag 0\n" in metrics, metrics
        assert d.stop() == 0
    finally:
        d.stop()
        sb.stop()


def metric(d, name):
    """An unlabelled sample of d's /metrics, or None when absent."""
    with urllib.request.urlopen(d.url("/metrics"), timeout=10) as resp:
        text = resp.read().decode()
    for line in text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[-1])
    return None


def test_lag_counts_unread_partitions(work):
    """kafka_lag counts the backlog of a partition not read from yet: with n
    messages waiting on 4 partitions and intake paused after the first cases
    (max_open_cases 2, a slow target), lag is n minus what was consumed,
    though most partitions have had nothing handed to deprovd; the same in
    deprov_kafka_consumer_lag. Before, such a partition was left out and the
    lag read low."""
    n = 80

    def small(cfg):
        cfg["engine"] = {"max_open_cases": 2, "resume_open_cases": 0}
    sb = Sandbox(work, seed_people(n, owned={"Account": 1}, tokens=1),
                 args=["--latency-ms", "4000"])
    d = Daemon(work, sb, extra=small)
    bootstrap = d.brokers
    try:
        harness.kafka_create_topics(bootstrap, [(TOPIC, 4), ("deprov.dlq", 1)])
        publish(bootstrap, [("E%04d" % i, leaver_for(i)) for i in range(1, n + 1)])
        d.start(wait_ready=False)
        pos = positions(bootstrap)
        assert len(pos) == n, len(pos)
        seen = []

        def settled():
            # Paused by backpressure, and every partition's lag known.
            r = readyz(d)
            consumed = metric(d, "deprov_events_consumed_total")
            seen.append((r.get("kafka_lag"), r.get("kafka_lag_unknown"),
                         r.get("intake_paused"), consumed))
            if not r.get("intake_paused") or r.get("kafka_lag_unknown") != 0:
                return None
            if r.get("kafka_lag") != n - consumed:
                return None
            return r, consumed
        try:
            r, consumed = wait_for(settled, 60, "paused with the lag of every partition known",
                                   0.1)
        except AssertionError as e:
            raise AssertionError("%s; last (kafka_lag, unknown, paused, consumed): %s" %
                                 (e, seen[-3:]))
        read = {pos[c["subject"]["employee_id"]][0] for c in d.cases()}
        log("paused after %d of %d consumed (cases from partitions %s): kafka_lag %d" %
            (consumed, n, sorted(read), r["kafka_lag"]))
        # What the test is about: partitions nothing was handed from yet.
        assert len(read) < 4 and consumed < n / 2, (read, consumed)
        assert sum(1 for p, _ in pos.values() if p not in read) > 0
        assert r["kafka_lag"] == n - consumed, (r, consumed, seen[-5:])
        assert metric(d, "deprov_kafka_consumer_lag") == n - consumed
        assert d.stop() == 0
    finally:
        d.stop()
        sb.stop()


def test_ready_when_assigned(work):
    """Ready as soon as partitions are assigned: the assignment proves the
    group coordinator (a broker) answered, so /readyz does not wait for the
    first statistics a second after the start. Every /readyz sample from the
    start on that shows partitions assigned is 200."""
    sb = Sandbox(work, seed_people(1, owned={}, tokens=0))
    d = Daemon(work, sb)
    try:
        t0 = time.time()
        d.start(wait_ready=False)
        samples = []

        def sample():
            try:
                st, body = http("GET", d.url("/readyz"), timeout=2)
            except OSError:
                return None
            samples.append((time.time(), st, body))
            return st == 200 and body.get("kafka_assigned") and body
        r = wait_for(sample, 30, "ready with partitions assigned", 0.02)
        late = [(st, b) for _, st, b in samples if isinstance(b, dict) and
                b.get("kafka_assigned") and st != 200]
        t_assigned = wait_owned(d, 4, t0)
        log("ready %.2f s after the start, partitions assigned %.2f s after it; %d /readyz "
            "samples before ready, %d with partitions assigned but 503" %
            (samples[-1][0] - t0, t_assigned - t0, len(samples), len(late)))
        assert not late, late[:3]
        assert r["kafka_member"] and r["kafka_brokers_up"] and r["status"] == "ok", r
        assert r["kafka_partitions"] == {kafka_topic(TOPIC): [0, 1, 2, 3]}, r
        assert d.stop() == 0
    finally:
        d.stop()
        sb.stop()


def idle_member(work, strategy):
    """Three deprovd in one group on a topic of 2 partitions: the one without
    a partition is ready too (200, kafka_member true, kafka_assigned false,
    kafka_partitions {}), serves the API, and takes over a partition when
    its owner dies; /readyz of the others says which partition each owns."""
    n = 20

    def two(cfg):
        cfg["kafka"]["partitions"] = 2
        cfg["kafka"]["properties"]["partition.assignment.strategy"] = strategy
    sb = Sandbox(work, seed_people(n, owned={"Account": 1}, tokens=1))
    ds = [Daemon(Sub(work, name), sb, extra=two) for name in ("a", "b", "c")]
    bootstrap = ds[0].brokers
    topic = kafka_topic(TOPIC)
    try:
        for d in ds:
            d.start(wait_ready=False)

        def settled():
            rs = [readyz(d) for d in ds]
            owned = [r.get("kafka_partitions", {}).get(topic, []) for r in rs]
            if sorted(p for o in owned for p in o) != [0, 1]:
                return None
            if not all(r.get("status") == "ok" for r in rs):
                return None
            return rs, owned
        t0 = time.time()
        rs, owned = wait_for(settled, 60, "3 members ready, partitions 0 and 1 owned", 0.1)
        idle = [i for i, o in enumerate(owned) if not o]
        assert len(idle) == 1, owned
        i = idle[0]
        log("all 3 ready %.2f s after the last start; owned: %s; idle member %s" %
            (time.time() - t0, owned, "abc"[i]))
        r = rs[i]
        assert r["kafka_member"] and not r["kafka_assigned"], r
        assert r["kafka_partitions"] == {} and r["kafka_lag"] == 0, r
        st, body = ds[i].call("GET", "/v1/cases", token=harness.API_TOKEN)
        assert st == 200 and body["cases"] == [], (st, body)
        assert metric(ds[i], "deprov_kafka_group_member") == 1
        assert metric(ds[i], "deprov_kafka_assigned") == 0
        assert metric(ds[i], "deprov_kafka_consumer_lag") == 0
        for j, o in enumerate(owned):
            if j != i:
                assert rs[j]["kafka_partitions"] == {topic: o} and len(o) == 1, rs[j]
                assert rs[j]["kafka_assigned"] and rs[j]["kafka_member"], rs[j]
        # The idle one stays ready (checked twice more, a second apart).
        for _ in range(2):
            time.sleep(1)
            st, body = http("GET", ds[i].url("/readyz"), timeout=2)
            assert st == 200 and body["kafka_partitions"] == {}, (st, body)

        # One owner dies: the idle member takes a partition over.
        victim = next(j for j in range(3) if j != i)
        lost = owned[victim][0]
        t_kill = time.time()
        ds[victim].kill9()
        survivors = [j for j in range(3) if j != victim]

        def taken_over():
            rs = {j: readyz(ds[j]) for j in survivors}
            got = sorted(p for r in rs.values() for p in r.get("kafka_partitions", {}).get(topic, []))
            ok = got == [0, 1] and all(r.get("status") == "ok" for r in rs.values())
            return rs if ok and rs[i].get("kafka_partitions") else None
        rs = wait_for(taken_over, 60, "partition %d owned again" % lost, 0.2)
        log("%.2f s after kill -9 of %s: %s" % (time.time() - t_kill, "abc"[victim],
                                                {"abc"[j]: r["kafka_partitions"]
                                                 for j, r in rs.items()}))
        publish(bootstrap, [("E%04d" % k, leaver_for(k)) for k in range(1, n + 1)])

        def all_cases():
            got = set()
            for j in survivors:
                got |= set(subjects(ds[j]))
            return got if len(got) == n else None
        wait_for(all_cases, 60, "a case for each of the %d leavers" % n, 0.3)
        assert subjects(ds[i]), "the member that was idle took no leaver"
    finally:
        for d in ds:
            d.stop()
        sb.stop()


def test_group_idle_member(work):
    """An idle member (3 instances, 2 partitions) is ready; eager protocol."""
    idle_member(work, "range,roundrobin")


def test_group_idle_member_cooperative(work):
    """The same with cooperative-sticky: the idle member's assignment is an
    empty incremental one."""
    idle_member(work, "cooperative-sticky")


def kafka_clients(d):
    """{client name: (its configuration as librdkafka dumped it with debug=conf,
    every other line it logged)} from d's log; the name is what deprovd puts
    first in each librdkafka line (client.id#consumer-N, client.id#producer-N)."""
    out = {}
    for line in d.log_text().splitlines():
        try:
            e = json.loads(line)
        except ValueError:
            continue
        if e.get("mod") != "kafka" or "#" not in e.get("msg", "").split(" ", 1)[0]:
            continue
        name, rest = e["msg"].split(" ", 1)
        conf, other = out.setdefault(name, (set(), []))
        if rest.startswith("CONF: ") and " = " in rest:
            conf.add(rest.split("]:", 1)[1].strip())
        else:
            other.append(rest)
    return out


def test_properties_routed(work):
    """kafka.properties reach the client each property is for: a consumer
    property (session.timeout.ms, heartbeat.interval.ms, auto.offset.reset)
    only the consumer, a producer property (linger.ms, message.timeout.ms)
    only the producer of dead letters and audit records, a property of both
    (client.id) both; librdkafka warns about none (CONFWARN "... is a
    consumer property and will be ignored by this producer instance"). The
    producer still works: a malformed message reaches the dead-letter topic."""
    sb = Sandbox(work, seed_people(1, owned={}, tokens=0))
    d = Daemon(work, sb, extra=props(debug="conf", linger_ms=7, message_timeout_ms=60000,
                                     client_id="deprovd-routing", auto_offset_reset="earliest"))
    try:
        d.start()
        warned = [l for l in d.log_text().splitlines()
                  if "CONFWARN" in l and "will be ignored by this" in l]
        assert not warned, warned
        clients = wait_for(lambda: (lambda c: c if len(c) == 2 and all(
            conf for conf, _ in c.values()) else None)(kafka_clients(d)), 30,
            "the configuration of deprovd's two librdkafka clients")
        cons = [n for n in clients if "#consumer-" in n]
        prod = [n for n in clients if "#producer-" in n]
        assert len(cons) == 1 and len(prod) == 1, sorted(clients)
        cconf, cother = clients[cons[0]]
        pconf, pother = clients[prod[0]]
        log("consumer %s: %d settings; producer %s: %d settings" %
            (cons[0], len(cconf), prod[0], len(pconf)))
        warned = [m for m in cother + pother if "CONFWARN" in m]
        assert not warned, warned
        assert cons[0].startswith("deprovd-routing#") and prod[0].startswith("deprovd-routing#")
        for want in ("session.timeout.ms = 6000", "heartbeat.interval.ms = 500",
                     "client.id = deprovd-routing", "auto.offset.reset = smallest"):
            assert want in cconf, (want, sorted(cconf))
        for want in ("queue.buffering.max.ms = 7", "client.id = deprovd-routing",
                     "message.timeout.ms = 60000", "enable.idempotence = true"):
            assert want in pconf, (want, sorted(pconf))
        for key in ("session.timeout.ms", "heartbeat.interval.ms", "auto.offset.reset",
                    "group.id"):
            assert not any(c.startswith(key + " ") for c in pconf), (key, sorted(pconf))
        for key in ("queue.buffering.max.ms", "message.timeout.ms", "enable.idempotence"):
            assert not any(c.startswith(key + " ") for c in cconf), (key, sorted(cconf))
        publish(d.bootstrap, [("X", "this is not json")])
        dlq = wait_for(lambda: [l for l in consume(d.bootstrap, "deprov.dlq").splitlines()
                                if "deprov-reason=" in l], 30, "the dead letter", 0.5)
        assert len(dlq) == 1, dlq
        assert d.stop() == 0
    finally:
        d.stop()
        sb.stop()


# --- the measurement behind docs/KAFKA.md -----------------------------------

SCENARIOS = [
    # (name, librdkafka properties for instance i, how the instance goes)
    ("eager, dynamic, kill -9", lambda i: {}, "kill"),
    ("eager, static, kill -9", lambda i: {"group.instance.id": "m%d" % i}, "kill"),
    ("cooperative, dynamic, kill -9",
     lambda i: {"partition.assignment.strategy": "cooperative-sticky"}, "kill"),
    ("cooperative, static, kill -9",
     lambda i: {"partition.assignment.strategy": "cooperative-sticky",
                "group.instance.id": "m%d" % i}, "kill"),
    ("eager, dynamic, SIGTERM", lambda i: {}, "term"),
    ("eager, static, SIGTERM", lambda i: {"group.instance.id": "m%d" % i}, "term"),
    ("cooperative, dynamic, SIGTERM",
     lambda i: {"partition.assignment.strategy": "cooperative-sticky"}, "term"),
    ("cooperative, static, SIGTERM",
     lambda i: {"partition.assignment.strategy": "cooperative-sticky",
                "group.instance.id": "m%d" % i}, "term"),
]


def failover_once(work, sb, idx, name, pf, how, probe_base):
    """One scenario: two members, one goes; when does the other own 4 and
    process the 20 leavers published right after?"""
    topic = "bench%d" % idx         # a topic and group of its own: nothing left from before

    def ex(i):
        def apply(cfg):
            cfg["kafka"]["group_id"] = topic
            cfg["kafka"]["topics"] = [topic]
            cfg["kafka"]["properties"].update(pf(i))
        return apply
    a = Daemon(Sub(work, "s%d-a" % idx), sb, extra=ex(0))
    b = Daemon(Sub(work, "s%d-b" % idx), sb, extra=ex(1))
    try:
        t0 = time.time()
        a.start()
        b.start()
        wait_owned(a, 2, t0)
        wait_owned(b, 2, t0)
        time.sleep(1)
        t_stop = time.time()
        if how == "kill":
            a.kill9()
        else:
            a.stop()
        t_stopped = time.time()
        probes = ["E%04d" % i for i in range(probe_base, probe_base + 20)]
        publish(b.brokers, [(s, leaver_for(int(s[1:]))) for s in probes], topic=topic)
        t_b4 = wait_owned(b, 4, t_stop, timeout=60)
        wait_for(lambda: set(probes) <= set(subjects(b)), 60, "the probes in b", 0.05)
        t_probes = time.time()
        hist = ownership(b, t_stop)
        paused = 0.0    # time b owned nothing (eager: between revoke and assign)
        for (t1, k1), (t2, _) in zip(hist, hist[1:]):
            if k1 == 0:
                paused += t2 - t1
        return {"scenario": name, "stop_s": round(t_stopped - t_stop, 2),
                "owned_all_s": round(t_b4 - t_stop, 2),
                "probes_done_s": round(t_probes - t_stop, 2),
                "survivor_paused_s": round(paused, 3)}
    finally:
        a.stop()
        b.stop()


def test_failover_bench(work):
    reps = int(os.environ.get("DEPROV_BENCH_REPS", "3"))
    sb = Sandbox(work, seed_people(1, owned={}, tokens=0))
    rows, idx = [], 0
    try:
        for name, pf, how in SCENARIOS:
            for _ in range(reps):
                idx += 1
                r = failover_once(work, sb, idx, name, pf, how, 1000 + 20 * idx)
                log(json.dumps(r))
                rows.append(r)
    finally:
        sb.stop()
    print("\n| scenario | stop took (s) | survivor owns all 4 (s) | 20 leavers published "
          "after the stop all have cases (s) | survivor owned nothing for (s) |")
    print("|---|---|---|---|---|")
    for name, _, _ in SCENARIOS:
        rs = [r for r in rows if r["scenario"] == name]

        def span(k):
            v = sorted(r[k] for r in rs)
            return "%.2f" % v[0] if v[0] == v[-1] else "%.2f–%.2f" % (v[0], v[-1])
        print("| %s | %s | %s | %s | %s |" % (name, span("stop_s"), span("owned_all_s"),
                                             span("probes_done_s"), span("survivor_paused_s")))


TESTS = {f.__name__[5:]: f for f in [
    test_group_two_instances, test_group_static_cooperative, test_lag_and_commits,
    test_properties_routed, test_lag_counts_unread_partitions, test_ready_when_assigned,
    test_group_idle_member, test_group_idle_member_cooperative,
    test_failover_bench]}

if __name__ == "__main__":
    main(TESTS, manual=("failover_bench",), args="--build DIR --kafka-bootstrap-file FILE",
         check=lambda: None if REAL_KAFKA else (
             "it_realkafka.py: needs --kafka-bootstrap-file (a broker from "
             "tests/tools/kafka-broker)"))
