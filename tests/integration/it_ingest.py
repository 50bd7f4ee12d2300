#!/usr/bin/env python3
"""Ingestion integration tests: effective dates across restarts, rescinds,
binary CloudEvents, Okta event hooks (Kafka and HTTP), HR mappings, a mixed
1,000-message stream, a broker outage and backpressure.
Run one test: it_ingest.py --build DIR NAME."""

import json
import os
import sys
import time
import uuid

sys.path.insert(0, os.path.dirname(__file__))
from harness import (Daemon, KafkaMock, Sandbox, consume, http, leaver,  # noqa: E402
                     leaver_for, log, main, outage_kafka, publish, run, seed_people,
                     standard_runbook, user_id, wait_for)

RESCIND_RUNBOOK = {"name": "rescind", "match": {"type": ["io.deprov.leaver.rescinded",
                                                         "io.deprov.unfreeze"]},
                   "retry": {"max_attempts": 10, "initial_backoff_ms": 50, "max_backoff_ms": 500},
                   "targets": [{"select": {"name": "*"}, "steps": ["unfreeze"]}]}
FREEZE_RUNBOOK = {"name": "emergency-freeze", "match": {"type": ["io.deprov.freeze"]},
                  "retry": {"max_attempts": 10, "initial_backoff_ms": 50, "max_backoff_ms": 500},
                  "targets": [{"select": {"name": "*"}, "steps": ["freeze", "revoke_tokens"]}]}
ALL_RUNBOOKS = [FREEZE_RUNBOOK, standard_runbook(), RESCIND_RUNBOOK]


def iso(t):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))


def readyz(d):
    st, body = http("GET", d.url("/readyz"))
    return body


def okta_hook(events):
    return {"eventType": "com.okta.event_hook", "eventTypeVersion": "1.0",
            "cloudEventsVersion": "0.1", "source": "https://acme.okta.com/api/v1/eventHooks/who",
            "eventId": str(uuid.uuid4()), "eventTime": iso(time.time()),
            "contentType": "application/json", "data": {"events": events}}


def okta_event(etype, login, oid="00u1", uid=None):
    return {"uuid": uid or str(uuid.uuid4()), "published": iso(time.time()), "eventType": etype,
            "version": "0", "severity": "INFO", "displayMessage": "x",
            "actor": {"id": "00uadmin", "type": "User", "alternateId": "admin@acme.example"},
            "target": [{"id": oid, "type": "User", "alternateId": login, "displayName": login}]}


def test_effective_date_survives_restart(work):
    sb = Sandbox(work, seed_people(1))
    d = Daemon(work, sb, runbooks=ALL_RUNBOOKS).start()
    try:
        eff = int(time.time()) + 4
        publish(d.bootstrap, [("E0001", leaver_for(1, effective=iso(eff)))])
        c = wait_for(lambda: (d.cases(subject="E0001") or [None])[0], 20, "case")
        wait_for(lambda: d.cases(subject="E0001")[0]["state"] == "scheduled", 10, "scheduled")
        assert not [e for e in sb.log() if e["action"] == "freeze"], "froze before the date"
        d.stop()
        d.start(wait_ready=False)
        c = d.wait_case("E0001", timeout=30)
        full = d.case(c["id"])
        assert full["frozen_ms"] >= eff * 1000, (full["frozen_ms"], eff)
        freezes = [e for e in sb.log() if e["action"] == "freeze" and e["status"] < 300]
        assert len(freezes) == 1, freezes
        log("fired %.1f s after the effective time" % (full["frozen_ms"] / 1000 - eff))
    finally:
        d.stop()
        sb.stop()


def test_rescind_unfreezes_only_frozen_targets(work):
    # Org A is slow, so the rescind arrives while the case is still remediating.
    sa = Sandbox(work, seed_people(1), args=["--latency-ms", "400"])
    wb = os.path.join(work.path, "b")
    os.makedirs(wb)

    class SubWork:
        path = wb

        def file(self, name, content):
            return work.file("b/" + name, content)
    sbb = Sandbox(SubWork(), seed_people(1))
    # Org B never lets the freeze through.
    sbb.fault({"path": "/services/data/v60.0/sobjects/UserLogin/", "mode": "status",
               "status": 503})
    rb = standard_runbook(max_attempts=4, initial_ms=100, max_ms=300)

    def two_orgs(cfg):
        b = dict(cfg["targets"]["salesforce-prod"])
        b["base_url"] = sbb.url
        cfg["targets"]["salesforce-b"] = b
    d = Daemon(work, sa, runbooks=[rb, RESCIND_RUNBOOK], extra=two_orgs).start()
    try:
        publish(d.bootstrap, [("E0001", leaver_for(1))])
        wait_for(lambda: sa.user(user_id(1))["IsFrozen"], 20, "freeze in org A")
        time.sleep(1.0)
        rescind = leaver_for(1, etype="io.deprov.leaver.rescinded")
        publish(d.bootstrap, [("E0001", rescind)])
        cases = wait_for(lambda: [c for c in d.cases(subject="E0001")
                                  if c["state"] in ("completed", "cancelled", "escalated")
                                  and c["runbook"] == "rescind"], 30, "rescind case")
        first = [c for c in d.cases(subject="E0001") if c["runbook"] == "standard-leaver"][0]
        wait_for(lambda: d.case(first["id"])["state"] == "cancelled", 20, "leaver cancelled")
        r = d.case(cases[0]["id"])
        assert r["state"] == "completed", r
        steps = {s["target"]: s for s in r["steps"]}
        assert steps["salesforce-prod"]["state"] == "succeeded", steps
        assert steps["salesforce-b"]["state"] == "skipped", steps
        assert "did not freeze" in steps["salesforce-b"]["detail"], steps
        ua, ub = sa.user(user_id(1)), sbb.user(user_id(1))
        assert ua["IsFrozen"] is False and ua["IsActive"] is True, ua
        assert ub["IsFrozen"] is False and ub["IsActive"] is True, ub
        assert not [e for e in sa.log() if e["action"] == "deactivate"]
        assert not [e for e in sbb.log() if e["action"] in ("unfreeze", "deactivate")]
    finally:
        d.stop()
        sa.stop()
        sbb.stop()


def test_binary_cloudevent(work):
    sb = Sandbox(work, seed_people(1))
    d = Daemon(work, sb, runbooks=ALL_RUNBOOKS).start()
    try:
        data = {"employee_id": "E0001", "email": "emp0001@acme.example",
                "manager": {"email": "boss0001@acme.example"}}
        publish(d.bootstrap, [("E0001", data)],
                headers={"ce_specversion": "1.0", "ce_id": "bin-1", "ce_source": "/hr/sap",
                         "ce_type": "io.deprov.leaver", "ce_subject": "E0001",
                         "content-type": "application/json"})
        c = d.wait_case("E0001", timeout=30)
        assert c["event_type"] == "io.deprov.leaver"
        # Binary mode with a bad header: a dead letter naming it.
        publish(d.bootstrap, [("E0002", {"email": "x@acme.example"})],
                headers={"ce_specversion": "1.0", "ce_id": "bin-2", "ce_source": "/hr/sap",
                         "ce_type": "com.example.nope"})
        dl = wait_for(lambda: [line for line in consume(d.bootstrap, "deprov.dlq").splitlines()
                               if "unknown event type" in line], 20, "dead letter")
        assert "deprov-topic=hr.leavers" in dl[0], dl
    finally:
        d.stop()
        sb.stop()


OKTA_SECRET = "okta-hook-secret-0123456789"


def with_okta(cfg):
    cfg["ingest"] = {"okta": {"source": "/idp/okta", "hook_authorization": OKTA_SECRET}}
    cfg["kafka"]["topics"] = ["hr.leavers", "okta.events"]


def test_okta_hook_http_and_kafka(work):
    sb = Sandbox(work, seed_people(3))
    d = Daemon(work, sb, runbooks=ALL_RUNBOOKS, extra=with_okta).start()
    try:
        # One-time verification.
        st, body = http("GET", d.url("/v1/hooks/okta"),
                        headers={"Authorization": OKTA_SECRET,
                                 "X-Okta-Verification-Challenge": "chal-123"})
        assert st == 200 and body == {"verification": "chal-123"}, (st, body)
        st, body = http("GET", d.url("/v1/hooks/okta"),
                        headers={"Authorization": "wrong",
                                 "X-Okta-Verification-Challenge": "chal-123"})
        assert st == 401 and body["error"] == "unauthorized", (st, body)
        assert http("POST", d.url("/v1/hooks/okta"), okta_hook([]))[0] == 401
        # A delivery: a deactivation, and an event type we do not act on.
        ev = okta_event("user.lifecycle.deactivate", "emp0001@acme.example", uid="uuid-1")
        other = okta_event("user.session.start", "emp0002@acme.example")
        t0 = time.time()
        st, body = http("POST", d.url("/v1/hooks/okta"), okta_hook([ev, other]),
                        headers={"Authorization": OKTA_SECRET})
        assert st == 200 and body["accepted"] == 1, (st, body)
        assert time.time() - t0 < 3, "Okta waits at most 3 s"
        cases = d.cases(subject="emp0001@acme.example")
        assert len(cases) == 1, cases   # persisted before the answer
        # Okta delivers twice: deduplicated on uuid.
        st, body = http("POST", d.url("/v1/hooks/okta"), okta_hook([ev]),
                        headers={"Authorization": OKTA_SECRET})
        assert st == 200
        d.wait_case("emp0001@acme.example", timeout=30)
        # HR's leaver for the same person after that case has ended is news
        # (access may have come back since): a case of its own, which finds
        # the accounts already closed. While a case is open, it would join
        # it (unit test test_intake).
        publish(d.bootstrap, [("E0001", leaver_for(1))])
        second = d.wait_case("E0001", timeout=30)
        everyone = [c for c in d.cases() if c["event_type"] == "io.deprov.leaver"]
        assert len(everyone) == 2, everyone
        assert second["state"] == "completed", second
        # The same from a Kafka topic: a suspension is an emergency freeze.
        sus = okta_event("user.lifecycle.suspend", "emp0003@acme.example")
        publish(d.bootstrap, [("emp0003", okta_hook([sus]))], topic="okta.events")
        c = d.wait_case("emp0003@acme.example", timeout=30)
        assert c["event_type"] == "io.deprov.freeze" and c["urgent"], c
        assert sb.user(user_id(3))["IsFrozen"] is True
        assert OKTA_SECRET not in d.log_text()
    finally:
        d.stop()
        sb.stop()


WORKDAY = {"name": "workday", "topic": "hr.workday", "source": "/hr/workday",
           "when": "/Terminated == true", "rescind_when": "/Termination_Rescinded == true",
           "effective_is_last_day": True,
           "fields": {"id": "/Event_ID", "employee_id": "/Worker_ID", "email": "/Email_Address",
                      "username": "/User_Name", "manager_employee_id": "/Manager/Worker_ID",
                      "manager_email": "/Manager/Email_Address",
                      "effective": "/Termination_Last_Day_of_Work",
                      "termination_kind": "/Termination_Involuntary"},
           "termination_kinds": {"true": "involuntary", "false": "voluntary"}}
GUSTO = {"name": "gusto", "topic": "hr.gusto", "source": "/hr/gusto",
         "when": "/event_type == \"employee.terminated\"",
         "fields": {"id": "/uuid", "employee_id": "/entity_uuid"}}


def with_mappings(cfg):
    cfg["kafka"]["topics"] = ["hr.leavers", "hr.workday", "hr.gusto"]
    cfg["ingest"] = {"mappings": [WORKDAY, GUSTO]}


def test_hr_mappings(work):
    sb = Sandbox(work, seed_people(3))
    d = Daemon(work, sb, runbooks=ALL_RUNBOOKS, extra=with_mappings).start()
    try:
        today = time.strftime("%Y-%m-%d", time.gmtime(time.time() - 2 * 86400))
        worker = {"Event_ID": "wd-1", "Worker_ID": "E0001", "Email_Address": "emp0001@acme.example",
                  "User_Name": "emp0001@acme.example",
                  "Manager": {"Worker_ID": "M0001", "Email_Address": "boss0001@acme.example"},
                  "Terminated": True, "Termination_Date": today,
                  "Termination_Last_Day_of_Work": today, "Termination_Involuntary": True}
        update = dict(worker, Event_ID="wd-2", Terminated=False)     # not a termination
        broken = {"Event_ID": "wd-3", "Terminated": True}             # no identifiers
        publish(d.bootstrap, [("E0001", worker), ("E0001", update), ("X", broken)],
                topic="hr.workday")
        publish(d.bootstrap, [("g1", {"uuid": "gu-1", "event_type": "employee.terminated",
                                      "entity_type": "Employee", "entity_uuid": "E0002",
                                      "resource_uuid": "c-1", "timestamp": int(time.time())}),
                              ("g2", {"uuid": "gu-2", "event_type": "employee.updated",
                                      "entity_uuid": "E0003"})], topic="hr.gusto")
        c = d.wait_case("E0001", timeout=30)
        assert c["subject"]["manager"]["email"] == "boss0001@acme.example", c
        full = d.case(c["id"])
        assert full["runbook"] == "standard-leaver"
        d.wait_case("E0002", timeout=30)   # found in Salesforce by FederationIdentifier
        assert not d.cases(subject="E0003")
        dl = wait_for(lambda: [x for x in consume(d.bootstrap, "deprov.dlq").splitlines() if x],
                      20, "dead letter")
        assert len(dl) == 1 and "mapping workday" in dl[0], dl
        # A rescind through the mapping cancels nothing here (already done): escalates.
        publish(d.bootstrap, [("E0001", dict(worker, Event_ID="wd-4",
                                             Termination_Rescinded=True))], topic="hr.workday")
        wait_for(lambda: [x for x in d.cases(subject="E0001") if x["state"] == "escalated"], 20,
                 "rescind after deactivation escalates")
    finally:
        d.stop()
        sb.stop()


def test_mixed_thousand(work):
    people, rescinded = 150, range(121, 151)
    sb = Sandbox(work, seed_people(people, owned={"Account": 1}, tokens=1))
    d = Daemon(work, sb, runbooks=ALL_RUNBOOKS, extra=with_okta,
               limits={"rate_per_sec": 2000, "burst": 200, "concurrency": 32,
                       "timeout_ms": 10000}).start()
    try:
        msgs, okta_msgs, garbage = [], [], 0
        later = iso(time.time() + 3600)
        leavers = {}
        for i in range(1, people + 1):
            ev = leaver_for(i, effective=later if i in rescinded else None)
            leavers[i] = ev
            msgs.append(("E%04d" % i, ev))
        for i in range(1, 101):                       # duplicate deliveries
            msgs.append(("E%04d" % i, leavers[i]))
        for i in range(1, 121):                       # a second HR source, own ids
            ev = leaver_for(i)
            ev["source"] = "/hr/bamboo"
            msgs.append(("E%04d" % i, ev))
        for i in rescinded:
            msgs.append(("E%04d" % i, leaver_for(i, etype="io.deprov.leaver.rescinded")))
        for i in range(1, 121):                       # the IdP deactivates them too
            okta_msgs.append(("emp%04d" % i, okta_hook([okta_event(
                "user.lifecycle.deactivate", "emp%04d@acme.example" % i, uid="okta-%d" % i)])))
        for i in range(1, 61):                        # and redelivers some
            okta_msgs.append(("emp%04d" % i, okta_hook([okta_event(
                "user.lifecycle.deactivate", "emp%04d@acme.example" % i, uid="okta-%d" % i)])))
        for i in range(100):
            garbage += 1
            msgs.append(("junk%d" % i, ["not json {", "{\"specversion\":\"1.0\"}", "[]",
                                        "{\"hello\":1}"][i % 4]))
        total = len(msgs) + len(okta_msgs)
        extra = 1000 - total
        assert extra >= 0, total
        for i in range(extra):                         # more duplicates to make 1,000
            k = 1 + i % 120
            msgs.append(("E%04d" % k, leavers[k]))
        publish(d.bootstrap, msgs)
        publish(d.bootstrap, okta_msgs, topic="okta.events")
        log("published", len(msgs) + len(okta_msgs), "messages,", garbage, "garbage")

        def settled():
            cs = [c for c in d.cases() if c["event_type"] == "io.deprov.leaver"]
            done = [c for c in cs if c["state"] in ("completed", "cancelled")]
            return cs if len(cs) >= people and len(done) == len(cs) else None
        cases = wait_for(settled, 120, "every case to settle", 1.0)
        per_person = {}
        for c in cases:
            s = c["subject"]
            key = s.get("employee_id") or s.get("email", "").split("@")[0].replace("emp", "E")
            per_person.setdefault(key, []).append(c)
        assert len(per_person) == people, len(per_person)
        # One person, one case at a time: signals join the open case. A
        # leaver signal that comes after the case ended (an IdP deactivation
        # that was not deprov's own echo, then HR's termination) opens the
        # next one, which finds everything done already.
        for key, cs in per_person.items():
            cs.sort(key=lambda c: c["id"])
            for a, b in zip(cs, cs[1:]):
                assert b["created_ms"] >= a["completed_ms"], (key, cs)
            i = int(key[1:])
            want = "cancelled" if i in rescinded else "completed"
            assert all(c["state"] == want for c in cs), (key, cs, want)
            if i in rescinded:
                assert len(cs) == 1, (key, cs)
        dl = [x for x in consume(d.bootstrap, "deprov.dlq").splitlines() if x.strip()]
        assert len(dl) == garbage, (len(dl), garbage)
        lag = wait_for(lambda: readyz(d).get("kafka_lag") == 0, 20, "consumer lag 0")
        log("cases:", len(cases), "dead letters:", len(dl), "lag 0:", lag)
        assert not [e for e in sb.log() if e.get("user") in
                    {user_id(i) for i in rescinded} and e["action"] != "query"]
    finally:
        d.stop()
        sb.stop()


def test_broker_outage(work):
    mock = outage_kafka(work)
    sb = Sandbox(work, seed_people(60, owned={"Account": 1}, tokens=1))
    d = Daemon(work, sb, runbooks=ALL_RUNBOOKS, brokers=mock.bootstrap).start()
    try:
        publish(mock.bootstrap, [("E%04d" % i, leaver_for(i)) for i in range(1, 31)])
        mock.command("down all")
        wait_for(lambda: readyz(d).get("kafka_brokers_up") is False, 20, "outage seen")
        st, _ = http("GET", d.url("/readyz"))
        assert st == 503
        time.sleep(2)
        mock.command("up all")
        wait_for(lambda: readyz(d).get("kafka_brokers_up") is True, 30, "brokers back")
        publish(mock.bootstrap, [("E%04d" % i, leaver_for(i)) for i in range(31, 61)])
        for i in range(1, 61):
            d.wait_case("E%04d" % i, timeout=90)
        wait_for(lambda: readyz(d).get("kafka_lag") == 0, 30, "lag 0")
        assert len([c for c in d.cases()]) == 60
    finally:
        d.stop()
        sb.stop()
        mock.stop()


def test_backpressure(work):
    n = 40

    def small(cfg):
        cfg["engine"] = {"max_open_cases": 5, "resume_open_cases": 2}
    sb = Sandbox(work, seed_people(n, owned={"Account": 1}, tokens=1), args=["--latency-ms", "60"])
    d = Daemon(work, sb, runbooks=ALL_RUNBOOKS, extra=small).start()
    try:
        publish(d.bootstrap, [("E%04d" % i, leaver_for(i)) for i in range(1, n + 1)])
        most, paused = 0, False
        end = time.time() + 120
        while time.time() < end:
            r = readyz(d)
            most = max(most, r.get("open_cases", 0))
            paused = paused or r.get("intake_paused", False)
            if len([c for c in d.cases() if c["state"] == "completed"]) == n:
                break
            time.sleep(0.05)
        log("most open cases seen: %d, intake paused: %s" % (most, paused))
        assert len([c for c in d.cases() if c["state"] == "completed"]) == n
        assert paused, "intake never paused"
        assert most <= 5 + 4, most   # the bound, plus at most one fetch in flight per partition
    finally:
        d.stop()
        sb.stop()


def test_audit_stream_survives_outage(work):
    import sqlite3
    from harness import RESPONDER_TOKEN
    mock = outage_kafka(work, topics=("hr.leavers:4", "deprov.dlq:1", "deprov.audit:4"))
    sb = Sandbox(work, seed_people(3))

    def audit_topic(cfg):
        cfg["kafka"]["audit_topic"] = "deprov.audit"
    d = Daemon(work, sb, runbooks=ALL_RUNBOOKS, brokers=mock.bootstrap, extra=audit_topic).start()
    try:
        publish(mock.bootstrap, [("E0001", leaver_for(1))])
        d.wait_case("E0001", timeout=30)
        mock.command("down all")
        wait_for(lambda: readyz(d).get("kafka_brokers_up") is False, 20, "outage seen")
        # Work goes on through the API while Kafka is down; its audit waits.
        st, r = d.call("POST", "/v1/freeze", {"subject": {"email": "emp0002@acme.example"},
                                               "reason": "INC-9"}, token=RESPONDER_TOKEN)
        assert st == 202, (st, r)
        d.wait_case("emp0002@acme.example", timeout=30)
        time.sleep(1)
        mock.command("up all")
        db = os.path.join(work.path, "var", "deprov.db")

        def all_delivered():
            rows = sqlite3.connect(db).execute("SELECT count(*) FROM audit").fetchone()[0]
            got = [json.loads(x.split("\t", 1)[1]) for x in
                   consume(mock.bootstrap, "deprov.audit", fmt="%k\t%s\n").splitlines() if x]
            return got if rows > 0 and len({g["id"] for g in got}) >= rows else None
        got = wait_for(all_delivered, 60, "every audit record on the topic", 1.0)
        types = {g["type"] for g in got}
        for t in ("io.deprov.case.opened", "io.deprov.case.contained", "io.deprov.case.completed",
                  "io.deprov.case.step.done"):
            assert t in types, (t, types)
        per_subject = {}
        for g in got:
            per_subject.setdefault(g.get("subject"), []).append(g["data"]["seq"])
        for subj, seqs in per_subject.items():
            assert seqs == sorted(seqs), (subj, seqs)   # in order per case
        assert "emp0002@acme.example" in per_subject, per_subject.keys()
        assert any(g["data"]["actor"] == "/api/soc-oncall" for g in got)
    finally:
        d.stop()
        sb.stop()
        mock.stop()


def publish_raw(bootstrap, key, value, topic="hr.leavers"):
    """Publish one message whose value is raw bytes (e.g. not UTF-8)."""
    import subprocess
    r = subprocess.run(["kcat", "-P", "-b", bootstrap, "-t", topic, "-K", "\t"],
                       input=key.encode() + b"\t" + value + b"\n", capture_output=True,
                       timeout=60)
    assert r.returncode == 0, r.stderr.decode()


def dlq_reasons(d, at_least):
    """The deprov-reason header of every dead letter, once there are at_least."""
    def reasons():
        got = [x.split("deprov-reason=", 1)[1].split(",deprov-topic=", 1)[0]
               for x in consume(d.bootstrap, "deprov.dlq").splitlines()
               if "deprov-reason=" in x]
        return got if len(got) >= at_least else None
    return wait_for(reasons, 30, "%d dead letters" % at_least)


def test_nul_and_bad_utf8_refused(work):
    """A NUL inside a JSON string (\\u0000) cut it short: subject "E0001\\u0000X"
    opened a case for E0001. Now such text, and identifiers that are not UTF-8,
    are refused wherever they come in: dead letters with a clear reason on
    Kafka, 400 on the API and the Okta hook. Intake goes on after them."""
    from harness import RESPONDER_TOKEN
    sb = Sandbox(work, seed_people(3))
    d = Daemon(work, sb, runbooks=ALL_RUNBOOKS, extra=with_okta).start()
    try:
        cut = leaver_for(1)
        cut["subject"] = "E0001\u0000X"          # json.dumps writes \u0000
        cut["data"]["employee_id"] = "E0001\u0000X"
        publish(d.bootstrap, [("E0001", cut)])
        bad = json.dumps(leaver_for(2)).replace("emp0002@", "emp0002\udcff@")
        publish_raw(d.bootstrap, "E0002", bad.encode("utf-8", "surrogateescape"))
        publish(d.bootstrap, [("E0003", leaver_for(3))])
        d.wait_case("E0003", timeout=30)
        reasons = dlq_reasons(d, 2)
        log("dead letters:", reasons)
        assert any("NUL character" in r for r in reasons), reasons
        assert any("data.email is not valid UTF-8" in r for r in reasons), reasons
        assert not d.cases(subject="E0001"), d.cases(subject="E0001")
        assert not d.cases(subject="E0002"), d.cases(subject="E0002")

        # The API: a NUL in the subject or the reason, a subject not in UTF-8.
        def freeze(body):
            raw = body if isinstance(body, bytes) else json.dumps(body).encode()
            return http("POST", d.url("/v1/freeze"), raw,
                        headers={"Authorization": "Bearer " + RESPONDER_TOKEN,
                                 "Content-Type": "application/json"})
        st, body = freeze({"subject": {"email": "a\u0000b@acme.example"}, "reason": "INC-1"})
        assert st == 400 and "NUL" in body["detail"], (st, body)
        st, body = freeze({"subject": {"email": "emp0001@acme.example"},
                           "reason": "INC-1\u0000 and what was cut"})
        assert st == 400 and "NUL" in body["detail"], (st, body)
        st, body = freeze(b'{"subject":{"email":"a\xffb@acme.example"},"reason":"INC-2"}')
        assert st == 400 and body["detail"] == "subject.email is not valid UTF-8", (st, body)

        # The Okta hook.
        ev = okta_event("user.lifecycle.deactivate", "emp0001\u0000@acme.example")
        st, body = http("POST", d.url("/v1/hooks/okta"), json.dumps(okta_hook([ev])).encode(),
                        headers={"Authorization": OKTA_SECRET,
                                 "Content-Type": "application/json"})
        assert st == 400 and "NUL" in body["detail"], (st, body)
        # Nothing was cut short anywhere: the only case is E0003's.
        assert [c["subject"].get("employee_id") for c in d.cases()] == ["E0003"], d.cases()
    finally:
        d.stop()
        sb.stop()


CRASH_MARK = "crash-mark-7f3e9a"


def test_crash_loop_breaker(work):
    """A message that kills the consumer (here: the decoder aborts on a mark, a
    test hook) is read again at every start, since its offset is never stored.
    The crash-loop breaker records what is being handled in a file beside the
    store: the message that was being handled when the process died twice in a
    row goes to the dead-letter topic ("crashed the consumer") at the third
    start, and intake goes on past it."""
    import resource
    import signal
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))   # no core files from the aborts
    os.environ["DEPROV_TEST_CRASH_MARK"] = CRASH_MARK
    mock = KafkaMock(work)
    sb = Sandbox(work, seed_people(4))
    d = Daemon(work, sb, runbooks=ALL_RUNBOOKS, brokers=mock.bootstrap).start()
    try:
        if "test hook armed" not in d.log_text():
            log("deprovd was built without DEPROV_TEST_HOOKS: skipped")
            sys.exit(77)
        publish(mock.bootstrap, [("E0001", leaver_for(1))])
        d.wait_case("E0001", timeout=30)
        poison = leaver_for(2, eid="poison-" + CRASH_MARK)
        publish(mock.bootstrap, [("E0002", poison), ("E0003", leaver_for(3))])

        def died():
            return d.proc.poll() is not None
        for run in (1, 2):
            wait_for(died, 90, "crash %d" % run, 0.2)
            assert d.proc.returncode == -signal.SIGABRT, d.proc.returncode
            log("run %d died on the poison message" % run)
            d.start(wait_ready=False)
        # The third start sets it aside and carries on.
        d.wait_case("E0003", timeout=90)
        d.wait_ready()
        publish(mock.bootstrap, [("E0004", leaver_for(4))])
        d.wait_case("E0004", timeout=60)
        assert d.proc.poll() is None
        dead = wait_for(lambda: [x for x in consume(mock.bootstrap, "deprov.dlq",
                                                    fmt="%k\t%h\t%s\n").splitlines()
                                 if CRASH_MARK in x], 30, "the dead letter")
        assert len(dead) == 1, dead
        assert "deprov-reason=crashed the consumer" in dead[0], dead
        assert "deprov-topic=hr.leavers" in dead[0], dead
        assert dead[0].startswith("E0002\t"), dead
        assert not d.cases(subject="E0002"), d.cases(subject="E0002")
        text = d.log_text()
        assert text.count("holds the crash mark") == 2, text.count("holds the crash mark")
        assert "2 starts in a row" in text
        assert os.path.exists(os.path.join(work.path, "var", "deprov.db.crashguard"))
    finally:
        del os.environ["DEPROV_TEST_CRASH_MARK"]
        d.stop()
        sb.stop()
        mock.stop()


TESTS = {f.__name__[5:]: f for f in [
    test_effective_date_survives_restart, test_rescind_unfreezes_only_frozen_targets,
    test_binary_cloudevent, test_okta_hook_http_and_kafka, test_hr_mappings,
    test_mixed_thousand, test_broker_outage, test_backpressure,
    test_audit_stream_survives_outage, test_nul_and_bad_utf8_refused,
    test_crash_loop_breaker]}

if __name__ == "__main__":
    main(TESTS)
