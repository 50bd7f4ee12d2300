#!/usr/bin/env python3
"""Containment truth, through a real deprovd and deprov-sandbox:

- Salesforce refuses to deactivate a user who is still a default owner,
  creator, portal administrator, hierarchy value, approver, or whom a
  validation rule protects: the case ends escalated with Salesforce's own
  errorCode and message, no call is retried, the user stays frozen and
  active; after the fix at Salesforce a retry completes the case.
- The reactivate step brings back what a leaver case took away on every
  kind of target, reading the state first, and says why when it cannot
  (no Salesforce licence).

The reinstate events are io.deprov.reinstate CloudEvents (a rehire from
HR); the admin API's reinstate and its refusals are in it_containment.py.
Run one test: it_connectors_reinstate.py --build DIR NAME."""

import os
import sys

sys.path.insert(0, os.path.dirname(__file__))
from harness import (ADMIN_TOKEN, SANDBOX_TOKEN, Daemon, Sandbox, leaver, leaver_for,  # noqa: E402
                     publish, main, run, seed_people, standard_runbook, user_id, wait_for)

LIMITS = {"rate_per_sec": 500, "burst": 100, "concurrency": 16, "timeout_ms": 5000,
          "connect_timeout_ms": 2000}

# kind, errorCode, message: as the sandbox answers them (docs/SANDBOX.md)
BLOCKERS = [
    ("default_workflow_user", "FIELD_INTEGRITY_EXCEPTION",
     "You cannot deactivate the Default Workflow User", "Process Automation Settings"),
    ("default_lead_owner", "FIELD_INTEGRITY_EXCEPTION",
     "You cannot deactivate this user. You cannot deactivate a user who is the default owner "
     "of leads", "Lead Settings"),
    ("default_case_owner", "FIELD_INTEGRITY_EXCEPTION",
     "You cannot deactivate this user. You cannot deactivate a user who is the default owner "
     "of cases", "Support Settings"),
    ("web_to_lead_creator", "FIELD_INTEGRITY_EXCEPTION",
     "You cannot disable the Web to Lead Default Creator", "Web-to-Lead"),
    ("web_to_case_creator", "FIELD_INTEGRITY_EXCEPTION",
     "You cannot deactivate this user. You cannot deactivate a user who is the Automated "
     "Case User", "Support Settings"),
    ("portal_admin", "FIELD_INTEGRITY_EXCEPTION",
     "You cannot deactivate a user who is a portal administrator", "portal administrator"),
    ("portal_account_owner", "INACTIVE_OWNER_OR_USER",
     "operation performed with inactive user [%s] as owner of a portal account",
     "active user"),
    ("hierarchy_field", "FIELD_INTEGRITY_EXCEPTION",
     "Cannot complete this operation. Cannot inactivate user that is the value of a "
     "hierarchy field: User Hierarchy.", "hierarchy field"),
    ("approval_routing", "FIELD_INTEGRITY_EXCEPTION",
     "You cannot deactivate this user. This user is an assigned approver or delegated "
     "approver in an approval process", "Approval Processes"),
    ("validation_rule", "FIELD_CUSTOM_VALIDATION_EXCEPTION",
     "Users who still own open opportunities cannot be deactivated", "Validation Rules"),
]


def reinstate_runbook(targets=None):
    """The reactivate step, for rehires."""
    return {"name": "reinstate-test", "match": {"type": ["io.deprov.reinstate"]},
            "retry": {"max_attempts": 5, "initial_backoff_ms": 50, "max_backoff_ms": 500},
            "targets": targets or [{"select": {"name": "*"}, "steps": ["reactivate"]}]}


def rehire(emp, email):
    return leaver(emp, email, etype="io.deprov.reinstate")


def steps_of(d, case):
    return {(s["target"], s["step"]): s for s in d.case(case["id"])["steps"]}


def wait_new_case(d, subject, runbook, states, timeout=60):
    def find():
        for c in d.cases(subject=subject):
            if c["runbook"] == runbook and c["state"] in states:
                return c
        return None
    return wait_for(find, timeout, "%s case of %s in %s" % (runbook, subject, states), 0.2)


# ---- Salesforce: deactivation refused ---------------------------------------------------------

def test_sf_deactivation_blockers(work):
    seed = seed_people(len(BLOCKERS), owned={"Account": 1})
    for i, (kind, _, _, _) in enumerate(BLOCKERS, 1):
        u = [u for u in seed["users"] if u["Id"] == user_id(i)][0]
        u["blocker"] = kind
    sb = Sandbox(work, seed)
    d = Daemon(work, sb, runbooks=[standard_runbook(max_attempts=10, initial_ms=50,
                                                    max_ms=200)]).start()
    try:
        publish(d.bootstrap, [("E%04d" % i, leaver_for(i)) for i in range(1, len(BLOCKERS) + 1)])
        cases = {}
        for i, (kind, code, msg, hint) in enumerate(BLOCKERS, 1):
            if "%s" in msg:
                msg = msg % user_id(i)
            c = d.wait_case("E%04d" % i, states=("escalated", "completed"), timeout=90)
            assert c["state"] == "escalated", (kind, c)
            full = d.case(c["id"])
            cases[i] = c
            # Salesforce's own words, verbatim, and what to change
            assert "%s: %s" % (code, msg) in (full["error"] or ""), (kind, full["error"])
            assert hint in full["error"], (kind, hint, full["error"])
            assert "deprovctl retry %d" % c["id"] in full["error"], full["error"]
            st = steps_of(d, c)
            de = st[("salesforce-prod", "deactivate")]
            assert de["state"] == "failed" and de["attempts"] == 1, (kind, de)
            for s in ("freeze", "revoke_tokens", "reassign"):
                assert st[("salesforce-prod", s)]["state"] == "succeeded", (kind, st)
            # contained, not deactivated: frozen and still active
            u = sb.user(user_id(i))
            assert u["IsFrozen"] is True and u["IsActive"] is True, (kind, u)
            assert u["blocker"] == kind, u
        # no retries, no backoff: one refused PATCH per user
        for i in range(1, len(BLOCKERS) + 1):
            mine = [e for e in sb.log() if e["user"] == user_id(i) and
                    e["action"] == "deactivate"]
            assert [e["status"] for e in mine] == [400], (i, mine)
        # fixed at Salesforce, then retried: the case completes
        sb.post("/_sandbox/users/" + user_id(1), {"blocker": None})
        st, body = d.call("POST", "/v1/cases/%d/retry" % cases[1]["id"], token=ADMIN_TOKEN)
        assert st in (200, 202), (st, body)
        wait_for(lambda: d.case(cases[1]["id"])["state"] == "completed", 60, "retried case")
        u = sb.user(user_id(1))
        assert u["IsActive"] is False and u["IsFrozen"] is True, u
    finally:
        d.stop()
        sb.stop()


# ---- reactivate --------------------------------------------------------------------------------

def test_sf_reactivate(work):
    seed = seed_people(3, owned={"Account": 1})
    sb = Sandbox(work, seed)
    d = Daemon(work, sb, runbooks=[standard_runbook(), reinstate_runbook()]).start()
    try:
        publish(d.bootstrap, [("E0001", leaver_for(1)), ("E0002", leaver_for(2))])
        for k in ("E0001", "E0002"):
            assert d.wait_case(k, states=("completed", "escalated"))["state"] == "completed"
        for i in (1, 2):
            u = sb.user(user_id(i))
            assert u["IsActive"] is False and u["IsFrozen"] is True, u
        # one licence left: the first rehire gets it, the second does not
        sb.post("/_sandbox/seed", {"licenses": sb.state()["active_users"] + 1})
        publish(d.bootstrap, [("E0001", rehire("E0001", "emp0001@acme.example"))])
        c1 = wait_new_case(d, "E0001", "reinstate-test", ("completed", "escalated"))
        assert c1["state"] == "completed", d.case(c1["id"])
        assert steps_of(d, c1)[("salesforce-prod", "reactivate")]["detail"] == \
            "reactivated (IsActive=true); unfrozen (IsFrozen=false)"
        u = sb.user(user_id(1))
        assert u["IsActive"] is True and u["IsFrozen"] is False, u
        publish(d.bootstrap, [("E0002", rehire("E0002", "emp0002@acme.example"))])
        c2 = wait_new_case(d, "E0002", "reinstate-test", ("completed", "escalated"))
        assert c2["state"] == "escalated", c2
        err = d.case(c2["id"])["error"]
        assert "LICENSE_LIMIT_EXCEEDED: License limit exceeded" in err, err
        assert "deprovctl retry %d" % c2["id"] in err, err
        u = sb.user(user_id(2))
        assert u["IsActive"] is False and u["IsFrozen"] is True, u   # nothing changed
        # never a leaver: nothing to reinstate, refused, and no write
        publish(d.bootstrap, [("E0003", rehire("E0003", "emp0003@acme.example"))])
        wait_for(lambda: "refused" in open(d.stderr_path).read(), 30, "the refusal")
        assert not [c for c in d.cases(subject="E0003")
                    if c["runbook"] == "reinstate-test"]
        assert not [e for e in sb.log() if e["user"] == user_id(3) and
                    e["method"] == "PATCH"]
        # a licence is bought: the retry completes
        sb.post("/_sandbox/seed", {"licenses": sb.state()["active_users"] + 1})
        st, body = d.call("POST", "/v1/cases/%d/retry" % c2["id"], token=ADMIN_TOKEN)
        assert st in (200, 202), (st, body)
        wait_for(lambda: d.case(c2["id"])["state"] == "completed", 60, "retried case")
        u = sb.user(user_id(2))
        assert u["IsActive"] is True and u["IsFrozen"] is False, u
    finally:
        d.stop()
        sb.stop()


def test_reactivate_all_kinds(work):
    """SCIM (RFC PatchOp and the GitHub preset), Okta, Graph and Google: a
    leaver case takes each account away, the reactivate step gives it back;
    the state is read before each write, and a 503 is retried."""
    people = [("E%04d" % i, "emp%04d@acme.example" % i) for i in (1, 2)]
    seed = {
        "scim": {"slack": {"users": [{"userName": e, "externalId": k, "email": e}
                                     for k, e in people]},
                 "gh": {"users": [{"userName": e, "externalId": k, "email": e}
                                  for k, e in people]}},
        "okta": {"users": [{"login": people[0][1]}, {"login": people[1][1]}]},
        "graph": {"users": [{"userPrincipalName": e, "mail": e, "employeeId": k}
                            for k, e in people]},
        "google": {"users": [{"primaryEmail": "admin@acme.example", "isAdmin": True}] +
                   [{"primaryEmail": e} for _, e in people]},
    }
    sb = Sandbox(work, seed)

    def target(kind, path, **kw):
        t = {"kind": kind, "base_url": sb.url + path,
             "auth": {"type": "ssws" if kind == "okta" else "bearer", "token": SANDBOX_TOKEN},
             "limits": dict(LIMITS)}
        t.update(kw)
        return t

    def extra(cfg):
        del cfg["targets"]["salesforce-prod"]
        cfg["targets"].update({
            "slack": target("scim", "/scim/slack/v2"),
            "github": target("scim", "/scim/gh/v2", options={"preset": "github"}),
            "okta": target("okta", "/okta"),
            "entra": target("graph", "/graph"),
            "workspace": target("google", "/google")})
    leaver_rb = {"name": "standard-leaver", "match": {"type": ["io.deprov.leaver"]},
                 "retry": {"max_attempts": 5, "initial_backoff_ms": 50, "max_backoff_ms": 500},
                 "targets": [{"select": {"name": "*"}, "steps": ["freeze", "deactivate"]}]}
    d = Daemon(work, sb, runbooks=[leaver_rb, reinstate_runbook()], extra=extra).start()
    try:
        publish(d.bootstrap, [(people[0][0], leaver(*people[0]))])
        c = d.wait_case(people[0][0], states=("completed", "escalated"))
        assert c["state"] == "completed", d.case(c["id"])
        e1 = people[0][1]
        assert sb.get("/_sandbox/scim/slack/users/" + e1)["active"] is False
        assert sb.get("/_sandbox/scim/gh/users/" + e1)["active"] is False
        assert sb.get("/_sandbox/okta/users/" + e1)["status"] == "DEPROVISIONED"
        assert sb.get("/_sandbox/graph/users/" + e1)["accountEnabled"] is False
        assert sb.get("/_sandbox/google/users/" + e1)["suspended"] is True
        since = sb.log()[-1]["seq"] + 1
        # a 503 on the first write to Entra: retried
        sb.fault({"path": "/graph/v1.0/users/", "method": "PATCH", "mode": "status",
                  "status": 503, "count": 1})
        for k, e in people:
            publish(d.bootstrap, [(k, rehire(k, e))])
        done = {}
        k = people[0][0]
        c = wait_new_case(d, k, "reinstate-test", ("completed", "escalated"))
        assert c["state"] == "completed", d.case(c["id"])
        done[k] = steps_of(d, c)
        # person 1: everything came back
        assert sb.get("/_sandbox/scim/slack/users/" + e1)["active"] is True
        assert sb.get("/_sandbox/scim/gh/users/" + e1)["active"] is True
        ok = sb.get("/_sandbox/okta/users/" + e1)
        assert ok["status"] == "PROVISIONED" and ok["deleted"] is False, ok
        assert sb.get("/_sandbox/graph/users/" + e1)["accountEnabled"] is True
        assert sb.get("/_sandbox/google/users/" + e1)["suspended"] is False
        st = done[people[0][0]]
        assert st[("slack", "reactivate")]["detail"] == "reactivated (active=true)", st
        assert "PROVISIONED" in st[("okta", "reactivate")]["detail"], st
        assert "sessions revoked before stay revoked" in st[("entra", "reactivate")]["detail"]
        assert st[("workspace", "reactivate")]["detail"] == "unsuspended (suspended=false)"
        # person 2 never left: the reinstate is refused, nothing is written
        assert not [c for c in d.cases(subject=people[1][0])
                    if c["runbook"] == "reinstate-test"]
        assert sb.get("/_sandbox/scim/slack/users/" + people[1][1])["active"] is True
        log = [e for e in sb.log() if e["seq"] >= since]
        writes = [e for e in log if e["method"] in ("PATCH", "POST", "PUT", "DELETE")
                  and 200 <= e["status"] < 300]
        # one successful write per account that was taken away, none for the others
        assert len(writes) == 5, writes
        assert not [e for e in writes if e["method"] == "DELETE"], writes
        faulted = [e for e in log if e.get("fault")]
        assert len(faulted) == 1 and faulted[0]["target"] == "graph", faulted
        # every write came after a read of the same account on the same surface
        for w in writes:
            reads = [e for e in log if e["target"] == w["target"] and e["user"] == w["user"]
                     and e["method"] == "GET" and e["seq"] < w["seq"]]
            assert reads, ("no read before", w)
    finally:
        d.stop()
        sb.stop()


TESTS = {f.__name__[5:]: f for f in [
    test_sf_deactivation_blockers, test_sf_reactivate, test_reactivate_all_kinds]}

if __name__ == "__main__":
    main(TESTS)
