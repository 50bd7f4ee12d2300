#!/usr/bin/env python3
"""Containment truth, through a real deprovd against deprov-sandbox: a case is
contained only when every freeze held (a refused freeze escalates the case at
once with frozen_ms empty, the freeze SLA breaches and alerts, the other
targets go on); a freeze that succeeds on its third attempt is contained then
with no stale error; an unfreeze never re-enables a person a leaver case
deprovisioned (API 409 naming the case, Kafka and Okta hook refused and
audited, at every target kind); a new leaver after a case ended is a new case;
a reinstate re-activates exactly what the leaver case disabled. Run one test:
it_containment.py --build DIR NAME."""

import json
import os
import sqlite3
import sys
import time
import uuid

sys.path.insert(0, os.path.dirname(__file__))
from harness import (ADMIN_TOKEN, RESPONDER_TOKEN, SANDBOX_TOKEN, Daemon, Sandbox,  # noqa: E402
                     http, leaver, log, publish, main, run, seed_people, user_id, wait_for)
from it_metrics import Receiver, alerts_config  # noqa: E402

LIMITS = {"rate_per_sec": 500, "burst": 100, "concurrency": 16, "timeout_ms": 5000,
          "connect_timeout_ms": 2000}
OKTA_SECRET = "okta-hook-secret-for-tests"


def runbook(targets, freeze_s=60, max_attempts=3, name="standard-leaver",
            types=("io.deprov.leaver",)):
    return {"name": name, "match": {"type": list(types)},
            "sla": {"freeze_within_s": freeze_s, "complete_within_s": 900},
            "retry": {"max_attempts": max_attempts, "initial_backoff_ms": 50,
                      "max_backoff_ms": 200},
            "targets": targets}


LEAVER_TARGETS = [
    {"select": {"kind": "salesforce"}, "steps": ["freeze", "revoke_tokens", "deactivate"]},
    {"select": {"kind": "okta"}, "steps": ["freeze", "revoke_tokens", "deactivate"]},
    {"select": {"kind": "scim"}, "steps": ["freeze", "deactivate"]},
    {"select": {"name": "*"}, "steps": ["freeze", "revoke_tokens", "deactivate"]},
]
UNFREEZE = runbook([{"select": {"name": "*"}, "steps": ["unfreeze"]}], name="unfreeze",
                   types=("io.deprov.unfreeze", "io.deprov.leaver.rescinded"))
REINSTATE = runbook([{"select": {"name": "*"}, "steps": ["reactivate"]}], name="reinstate",
                    types=("io.deprov.reinstate",))
EMAIL = "emp0001@acme.example"


def seed(kinds=("okta", "scim")):
    s = seed_people(1)
    if "okta" in kinds:
        s["okta"] = {"users": [{"login": EMAIL, "email": EMAIL, "status": "ACTIVE",
                                "sessions": 1}]}
    if "scim" in kinds:
        s["scim"] = {"slack": {"users": [{"userName": EMAIL, "externalId": "E0001",
                                          "email": EMAIL, "active": True}]}}
    if "graph" in kinds:
        s["graph"] = {"users": [{"userPrincipalName": EMAIL, "mail": EMAIL,
                                 "employeeId": "E0001", "accountEnabled": True}]}
    if "google" in kinds:
        s["google"] = {"users": [{"primaryEmail": EMAIL, "sessions": 1}]}
    return s


def targets(sb, kinds=("okta", "scim")):
    t = {}
    if "okta" in kinds:
        t["okta"] = {"kind": "okta", "base_url": sb.url + "/okta",
                     "auth": {"type": "ssws", "token": SANDBOX_TOKEN}, "limits": dict(LIMITS)}
    if "scim" in kinds:
        t["slack"] = {"kind": "scim", "base_url": sb.url + "/scim/slack/v2",
                      "auth": {"type": "bearer", "token": SANDBOX_TOKEN},
                      "limits": dict(LIMITS), "options": {"preset": "slack"}}
    if "graph" in kinds:
        t["entra"] = {"kind": "graph", "base_url": sb.url + "/graph",
                      "auth": {"type": "bearer", "token": SANDBOX_TOKEN},
                      "limits": dict(LIMITS)}
    if "google" in kinds:
        t["workspace"] = {"kind": "google", "base_url": sb.url + "/google",
                          "auth": {"type": "bearer", "token": SANDBOX_TOKEN},
                          "limits": dict(LIMITS)}
    return t


def config(sb, kinds=("okta", "scim"), hooks=None, okta_hook=False):
    def extra(cfg):
        cfg["targets"].update(targets(sb, kinds))
        if hooks:
            alerts_config(hooks)(cfg)
        if okta_hook:
            cfg["ingest"] = {"okta": {"source": "/idp/okta", "target": "okta",
                                      "hook_authorization": OKTA_SECRET}}
    return extra


def leaver1(**kw):
    return leaver("E0001", EMAIL, **kw)


def okta_user(sb):
    for u in sb.state()["okta"]["users"]:
        if u["login"].lower() == EMAIL:
            return u
    raise AssertionError("no okta user")


def slack_user(sb):
    for u in sb.state()["scim"]["slack"]["users"]:
        if u["userName"].lower() == EMAIL:
            return u
    raise AssertionError("no slack user")


def containment(full):
    return {c["target"]: c for c in full["containment"]}


def steps(full, target):
    return {s["step"]: s for s in full["steps"] if s["target"] == target}


def audit_kinds(d, case_id=None):
    db = sqlite3.connect(os.path.join(d.work.path, "var", "deprov.db"))
    try:
        q = "SELECT kind, detail FROM audit" + (" WHERE case_id = ?" if case_id else "")
        return db.execute(q, (case_id,) if case_id else ()).fetchall()
    finally:
        db.close()


def test_freeze_refused_escalates(work):
    """Okta answers 403 to every suspend: the case is escalated at once, not
    contained, frozen_ms empty; Salesforce and Slack are frozen and go on to
    deactivation; Okta's later steps do not run; the freeze SLA breaches and
    alerts; the person is counted exposed; a retry after the fault is gone
    contains and completes the case."""
    hook = Receiver("soc")
    sb = Sandbox(work, seed())
    rb = runbook(LEAVER_TARGETS, freeze_s=3)
    d = Daemon(work, sb, runbooks=[rb], extra=config(
        sb, hooks=[{"name": "soc", "url": hook.url}])).start()
    try:
        sb.fault({"path": "/okta/api/v1/users/", "method": "POST", "mode": "status",
                  "status": 403})
        publish(d.bootstrap, [("E0001", leaver1())])
        c = d.wait_case("E0001", states=("escalated",), timeout=60)
        # The other targets' steps go on after the escalation; wait for them.
        full = wait_for(lambda: (lambda f: f if f["completed_ms"] else None)(
            d.case(c["id"])), 30, "the case to end")
        log("containment:", json.dumps(full["containment"], indent=1))
        assert full["state"] == "escalated", full["state"]
        assert full["frozen_ms"] is None and full["contained"] is False, full
        assert full["exposed_targets"] == ["okta"], full["exposed_targets"]
        ct = containment(full)
        assert ct["okta"]["status"] == "failed" and "403" in ct["okta"]["error"], ct
        assert ct["okta"]["attempts"] == 1, ct      # a 403 is not retried
        for t in ("salesforce-prod", "slack"):
            assert ct[t]["status"] == "frozen" and ct[t]["contained"], ct
            assert ct[t]["at_ms"] and ct[t]["deactivated_ms"], ct
        ok = steps(full, "okta")
        assert ok["deactivate"]["state"] == "skipped", ok
        assert "earlier step" in ok["deactivate"]["detail"], ok
        assert "okta freeze" in full["error"], full["error"]
        assert [e["target"] for e in full["errors"]] == ["okta"], full["errors"]
        # What the targets say: Okta still ACTIVE, the others shut.
        assert okta_user(sb)["status"] == "ACTIVE"
        assert sb.user(user_id(1))["IsActive"] is False
        assert slack_user(sb)["active"] is False
        # Exposed, and the freeze SLA breaches with an alert.
        assert d.metric("deprov_exposed_subjects") == 1
        assert d.metric("deprov_exposed_subjects_by_target", target="okta") == 1
        wait_for(lambda: hook.got(), 30, "the freeze breach alert")
        alert = json.loads(hook.got()[0]["body"])
        assert alert["kind"] == "freeze" and alert["case_id"] == c["id"], alert
        assert alert["state"] == "escalated", alert
        # Fixed at Okta: a retry contains the case, late, and completes it.
        sb.clear_faults()
        st, body = d.call("POST", "/v1/cases/%d/retry" % c["id"], token=ADMIN_TOKEN)
        assert st == 202, (st, body)
        done = d.wait_case("E0001", timeout=60)
        full = d.case(done["id"])
        assert full["contained"] is True and full["frozen_ms"], full
        assert full["error"] is None and full["errors"] == [], full
        assert okta_user(sb)["status"] == "DEPROVISIONED"
        assert d.metric("deprov_exposed_subjects") == 0
        assert len(hook.got()) == 1, "one breach, one alert"
    finally:
        d.stop()
        sb.stop()
        hook.stop()


def test_freeze_third_attempt(work):
    """Okta's suspend fails twice with 503: the case stays freezing, then is
    contained when the third attempt succeeds, and shows no stale error."""
    sb = Sandbox(work, seed())
    d = Daemon(work, sb, runbooks=[runbook(LEAVER_TARGETS, max_attempts=5)],
               extra=config(sb)).start()
    try:
        sb.fault({"path": "/okta/api/v1/users/", "method": "POST", "mode": "status",
                  "status": 503, "count": 2})
        publish(d.bootstrap, [("E0001", leaver1())])
        c = d.wait_case("E0001", timeout=60)
        full = d.case(c["id"])
        ok = steps(full, "okta")
        assert ok["freeze"]["state"] == "succeeded" and ok["freeze"]["attempts"] == 3, ok
        assert ok["freeze"]["last_error"] is None, ok["freeze"]
        assert full["contained"] is True and full["error"] is None, full
        ct = containment(full)
        assert ct["okta"]["status"] == "frozen" and ct["okta"]["error"] is None, ct
        # frozen when the third attempt answered, after the other targets
        assert full["frozen_ms"] >= max(x["at_ms"] for x in ct.values()), full
        retries = [t for t in full["timeline"] if t["kind"] == "retry"]
        assert len(retries) == 2, retries               # the history stays
        states = [t["detail"] for t in full["timeline"] if t["kind"] == "state"]
        assert states[:2] == ["freezing", "contained"], states
    finally:
        d.stop()
        sb.stop()


def test_unfreeze_after_completion_refused(work):
    """A completed leaver at all five target kinds: an unfreeze through the API
    is refused with 409 naming the case, through Kafka it is refused and
    recorded, and no target sees an unfreeze; both refusals are audited."""
    kinds = ("okta", "scim", "graph", "google")
    sb = Sandbox(work, seed(kinds))
    d = Daemon(work, sb, runbooks=[runbook(LEAVER_TARGETS), UNFREEZE],
               extra=config(sb, kinds)).start()
    try:
        publish(d.bootstrap, [("E0001", leaver1())])
        c = d.wait_case("E0001", timeout=90)
        full = d.case(c["id"])
        assert full["contained"] is True, full
        assert len(full["containment"]) == 5, full["containment"]
        seen = len(sb.log())
        st, body = d.call("POST", "/v1/unfreeze", {"subject": {"email": EMAIL},
                                                   "reason": "INC-1 false positive"},
                          token=RESPONDER_TOKEN)
        assert st == 409, (st, body)
        assert body["error"] == "refused" and body["case_id"] == c["id"], body
        assert "leaver case %d" % c["id"] in body["detail"], body
        publish(d.bootstrap, [("E0001", leaver1(etype="io.deprov.unfreeze"))])
        wait_for(lambda: d.metric("deprov_events_refused_total",
                                type="io.deprov.unfreeze") == 2, 20, "two refusals")
        time.sleep(1)
        acts = [e for e in sb.log()[seen:] if e["method"] != "GET"]
        assert not acts, acts
        assert [x for x in d.cases() if x["event_type"] == "io.deprov.unfreeze"] == []
        refused = [k for k, _ in audit_kinds(d, c["id"]) if k == "intake.refused"]
        assert len(refused) == 2, audit_kinds(d, c["id"])
        tl = [t for t in d.case(c["id"])["timeline"] if t["kind"] == "refused"]
        assert len(tl) == 2, tl
    finally:
        d.stop()
        sb.stop()


def test_okta_unsuspend_hook_refused(work):
    """An Okta user.lifecycle.unsuspend hook for a person a leaver case
    deprovisioned is refused: Okta is answered, nothing is re-enabled."""
    sb = Sandbox(work, seed())
    d = Daemon(work, sb, runbooks=[runbook(LEAVER_TARGETS), UNFREEZE],
               extra=config(sb, okta_hook=True)).start()
    try:
        publish(d.bootstrap, [("E0001", leaver1())])
        c = d.wait_case("E0001", timeout=60)
        seen = len(sb.log())
        ev = {"uuid": str(uuid.uuid4()), "published": time.strftime(
            "%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "eventType": "user.lifecycle.unsuspend",
            "version": "0", "severity": "INFO", "displayMessage": "x",
            "actor": {"id": "00uadmin", "type": "User", "alternateId": "admin@acme.example"},
            "target": [{"id": okta_user(sb)["id"], "type": "User", "alternateId": EMAIL,
                        "displayName": EMAIL}]}
        hook = {"eventType": "com.okta.event_hook", "eventTypeVersion": "1.0",
                "cloudEventsVersion": "0.1", "source": "https://acme.okta.com",
                "eventId": str(uuid.uuid4()), "contentType": "application/json",
                "data": {"events": [ev]}}
        st, body = http("POST", d.url("/v1/hooks/okta"), hook,
                        headers={"Authorization": OKTA_SECRET})
        assert st == 200, (st, body)         # Okta is answered; the act is refused
        time.sleep(1)
        assert not [e for e in sb.log()[seen:] if e["method"] != "GET"]
        assert okta_user(sb)["status"] == "DEPROVISIONED"
        assert slack_user(sb)["active"] is False
        assert d.metric("deprov_events_refused_total", type="io.deprov.unfreeze") == 1
        assert "intake.refused" in [k for k, _ in audit_kinds(d, c["id"])]
    finally:
        d.stop()
        sb.stop()


def test_second_leaver_new_case(work):
    """After a leaver case ended, access came back by hand at Slack; a new
    leaver event for the same person opens a new case, which shuts it again
    (a redelivery of the first event is still a duplicate)."""
    sb = Sandbox(work, seed())
    d = Daemon(work, sb, runbooks=[runbook(LEAVER_TARGETS)], extra=config(sb)).start()
    try:
        first = leaver1()
        publish(d.bootstrap, [("E0001", first)])
        a = d.wait_case("E0001", timeout=60)
        # Someone re-enables the account at Slack by hand.
        st, body = http("PATCH", "%s/scim/slack/v2/Users/%s" % (sb.url, slack_user(sb)["id"]),
                        {"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                         "Operations": [{"op": "replace", "path": "active", "value": True}]},
                        headers={"Authorization": "Bearer " + SANDBOX_TOKEN,
                                 "Content-Type": "application/scim+json"})
        assert st == 200, (st, body)
        assert slack_user(sb)["active"] is True
        publish(d.bootstrap, [("E0001", first), ("E0001", leaver1())])
        b = wait_for(lambda: (lambda cs: cs[0] if len(cs) == 2 and cs[0]["state"] ==
                              "completed" else None)(d.cases(subject="E0001")),
                     60, "a second case")
        assert b["id"] != a["id"], (a, b)
        assert len(d.cases(subject="E0001")) == 2
        assert slack_user(sb)["active"] is False
    finally:
        d.stop()
        sb.stop()


def test_reinstate(work):
    """A rehire: reinstating a completed leaver case re-activates exactly the
    accounts it disabled (not Slack, where the person had no account), refused
    for lower roles, while a case runs, and a second time."""
    s = seed(("okta",))
    # Slack is there, but the person never had an account in it.
    s["scim"] = {"slack": {"users": [{"userName": "someone@acme.example",
                                      "externalId": "E0999", "active": True}]}}
    sb = Sandbox(work, s)
    kinds = ("okta", "scim")
    d = Daemon(work, sb, runbooks=[runbook(LEAVER_TARGETS), REINSTATE],
               extra=config(sb, kinds)).start()
    try:
        publish(d.bootstrap, [("E0001", leaver1())])
        c = d.wait_case("E0001", timeout=60)
        ct = containment(d.case(c["id"]))
        assert ct["slack"]["status"] == "no_account", ct
        assert okta_user(sb)["status"] == "DEPROVISIONED"
        path = "/v1/cases/%d/reinstate" % c["id"]
        st, body = d.call("POST", path, {"reason": "HR-77 rehire"}, token=RESPONDER_TOKEN)
        assert st == 403, (st, body)
        st, body = d.call("POST", path, {}, token=ADMIN_TOKEN)
        assert st == 400, (st, body)
        seen = len(sb.log())
        st, body = d.call("POST", path, {"reason": "HR-77 rehire"}, token=ADMIN_TOKEN)
        assert st == 202, (st, body)
        r = wait_for(lambda: (lambda x: x if x["state"] in ("completed", "escalated")
                              else None)(d.case(body["case_id"])), 60, "the reinstate")
        log("reinstate:", json.dumps([(s["target"], s["step"], s["state"], s["detail"])
                                      for s in r["steps"]], indent=1))
        assert r["state"] == "completed" and r["kind"] == "reinstate", r
        assert r["contained"] is None and r["frozen_ms"] is None, r
        got = {(s["target"], s["state"]) for s in r["steps"]}
        assert ("salesforce-prod", "succeeded") in got and ("okta", "succeeded") in got, got
        assert ("slack", "skipped") in got, got
        assert sb.user(user_id(1))["IsActive"] is True
        assert sb.user(user_id(1))["IsFrozen"] is False
        assert okta_user(sb)["status"] in ("ACTIVE", "PROVISIONED"), okta_user(sb)
        assert not [e for e in sb.log()[seen:] if e.get("target", "").startswith("scim")
                    and e["method"] != "GET"]
        st, again = d.call("POST", path, {"reason": "twice"}, token=ADMIN_TOKEN)
        assert st == 409 and "already reinstated" in again["detail"], (st, again)
        kinds_audit = [k for k, _ in audit_kinds(d, body["case_id"])]
        assert "case.opened" in kinds_audit, kinds_audit
    finally:
        d.stop()
        sb.stop()


def test_reinstate_refused_while_running(work):
    """A reinstate of a leaver case that is still running is refused (409)."""
    sb = Sandbox(work, seed())
    d = Daemon(work, sb, runbooks=[runbook(LEAVER_TARGETS), REINSTATE],
               extra=config(sb)).start()
    try:
        later = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 3600))
        publish(d.bootstrap, [("E0001", leaver1(effective=later))])
        c = d.wait_case("E0001", states=("scheduled",), timeout=30)
        st, body = d.call("POST", "/v1/cases/%d/reinstate" % c["id"], {"reason": "x"},
                          token=ADMIN_TOKEN)
        assert st == 409 and "still running" in body["detail"], (st, body)
    finally:
        d.stop()
        sb.stop()


TESTS = {f.__name__[5:]: f for f in [
    test_freeze_refused_escalates, test_freeze_third_attempt,
    test_unfreeze_after_completion_refused, test_okta_unsuspend_hook_refused,
    test_second_leaver_new_case, test_reinstate, test_reinstate_refused_while_running]}

if __name__ == "__main__":
    main(TESTS)
