#!/usr/bin/env python3
"""The evidence export (docs/EVIDENCE.md) against the real deprovd, the
embedded Kafka mock cluster and deprov-sandbox: leavers run, then the export
is taken as CSV and JSON through deprovctl and the API, and every row is
checked against the audit trail the way an auditor would (its audit range
holds the case's step records, the head is a record of the chain that
`deprovctl audit verify` finds intact, the digest line matches the bytes
above it and is recorded in the chain). Bad dates are refused. Run one
test: it_evidence.py --build DIR NAME."""

import csv
import datetime
import hashlib
import io
import json
import os
import subprocess
import sys
import urllib.request

sys.path.insert(0, os.path.dirname(__file__))
from harness import (API_TOKEN, Daemon, Sandbox, build_dir, leaver, leaver_for,  # noqa: E402
                     log, main, publish, seed_people)

COLUMNS = ["subject", "case_id", "runbook", "case_state", "target", "terminated_at",
           "event_received_at", "frozen_at", "tokens_revoked_at", "deactivated_at",
           "freeze_sla", "complete_sla", "audit_seq_first", "audit_seq_last"]


def ctl(d, *args, check=None):
    r = subprocess.run([os.path.join(build_dir(), "deprovctl"), "--api", d.url(""),
                        "--token", API_TOKEN] + list(args),
                       capture_output=True, timeout=120)
    if check is not None:
        assert r.returncode == check, (args, r.returncode, r.stdout[-2000:], r.stderr)
    return r


def get_raw(d, query, token=API_TOKEN):
    req = urllib.request.Request(d.url("/v1/evidence?" + query),
                                 headers={"Authorization": "Bearer " + token})
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, r.headers.get("Content-Type"), r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.headers.get("Content-Type"), e.read()


def split_digest(body):
    """The bytes before the last line, and the last line (the digest's)."""
    assert body.endswith(b"\n"), body[-200:]
    cut = body.rstrip(b"\n").rfind(b"\n") + 1
    return body[:cut], body[cut:]


def check_digest(body, fmt):
    above, last = split_digest(body)
    hexd = hashlib.sha256(above).hexdigest()
    want = (b"#sha256;%s\r\n" if fmt == "csv" else b'"sha256":"%s"}\n') % hexd.encode()
    assert last == want, (last, want)
    return hexd


def csv_rows(body):
    text = body.decode()
    lines = [ln for ln in text.split("\r\n") if ln]
    meta = [ln for ln in lines if ln.startswith("#")]
    data = "\r\n".join(ln for ln in lines if not ln.startswith("#")) + "\r\n"
    rd = list(csv.reader(io.StringIO(data, newline="")))
    assert rd[0] == COLUMNS, rd[0]
    rows = [dict(zip(COLUMNS, r)) for r in rd[1:]]
    head = [m for m in meta if m.startswith("#audit_head;")]
    assert len(head) == 1, meta
    kv = dict(p.split("=", 1) for p in head[0].split(";")[1:])
    return rows, int(kv["seq"]), kv["hash"]


def audit_records(d):
    r = subprocess.run([os.path.join(build_dir(), "deprovctl"), "audit", "export",
                        "--config", d.config], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    return [json.loads(ln) for ln in r.stdout.splitlines()]


def audit_verify(d):
    r = subprocess.run([os.path.join(build_dir(), "deprovctl"), "--json", "audit", "verify",
                        "--config", d.config], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, (r.stdout, r.stderr)
    v = json.loads(r.stdout)
    assert v["ok"] is True, v
    return v


def check_against_audit(rows, head_seq, head_hash, recs, verified):
    """What docs/EVIDENCE.md tells an auditor to check, row by row."""
    by_seq = {r["seq"]: r for r in recs}
    # The head is a record of the chain, and the chain is intact past it.
    assert head_seq in by_seq and by_seq[head_seq]["hash"] == head_hash, head_seq
    assert verified["last_seq"] >= head_seq, (verified, head_seq)
    for row in rows:
        cid, first, last = int(row["case_id"]), int(row["audit_seq_first"]), \
            int(row["audit_seq_last"])
        assert 0 < first <= last <= head_seq, row
        mine = [r for r in recs if r["case_id"] == cid and r["seq"] <= head_seq]
        assert mine, row
        assert min(r["seq"] for r in mine) == first and max(r["seq"] for r in mine) == last, \
            (row, [r["seq"] for r in mine])
        assert by_seq[first]["kind"] == "case.opened", by_seq[first]
        done = {r["step"]: r for r in mine
                if r["kind"] == "step.done" and r["target"] == row["target"]}
        for col, step in (("frozen_at", "freeze"), ("tokens_revoked_at", "revoke_tokens"),
                          ("deactivated_at", "deactivate")):
            if row[col][:1].isdigit():      # a time: the step succeeded, and says so
                assert step in done, (row, col, sorted(done))
                assert first <= done[step]["seq"] <= last, (row, done[step])
                assert done[step]["detail"]["outcome"] == "succeeded", done[step]
                at = datetime.datetime.fromisoformat(row[col].replace("Z", "+00:00"))
                lag = done[step]["ts_ms"] - at.timestamp() * 1000
                assert 0 <= lag < 1000, (row, col, done[step])
            else:                           # a status: the record's outcome says it
                assert row[col] in ("no_account", "skipped", "failed", "pending", "none"), row


def test_export(work):
    today = datetime.datetime.now(datetime.timezone.utc).date()
    sb = Sandbox(work, seed_people(2))
    d = Daemon(work, sb).start()
    try:
        publish(d.bootstrap, [("E0001", leaver_for(1)), ("E0002", leaver_for(2)),
                              # Not at the target: no account, said so.
                              ("E0099", leaver("E0099", "nobody@acme.example")),
                              # Terminated long ago: outside the range.
                              ("E0003", leaver("E0003", "old@acme.example",
                                               effective="2020-01-02T00:00:00Z"))])
        for s in ("E0001", "E0002", "E0099", "E0003"):
            d.wait_case(s, states=("completed", "escalated"), timeout=90)
        frm, to = (today - datetime.timedelta(days=1)).isoformat(), today.isoformat()

        # deprovctl, CSV into a file: written whole and checked.
        out = os.path.join(work.path, "evidence.csv")
        r = ctl(d, "evidence", "--from", frm, "--to", to, "--format", "csv", "--out", out,
                check=0)
        assert b"written to" in r.stderr, r.stderr
        body = open(out, "rb").read()
        sha_csv = check_digest(body, "csv")
        rows, head_seq, head_hash = csv_rows(body)
        subjects = sorted(r["subject"] for r in rows)
        assert subjects == ["E0001", "E0002", "E0099"], subjects
        for row in rows:
            assert row["target"] == "salesforce-prod", row
            assert row["terminated_at"] and row["event_received_at"], row
        ok = [r for r in rows if r["subject"] != "E0099"]
        for row in ok:
            for col in ("frozen_at", "tokens_revoked_at", "deactivated_at"):
                assert row[col][:4].isdigit() and row[col].endswith("Z"), (col, row)
            assert row["case_state"] == "completed", row
            assert row["freeze_sla"] == "met" and row["complete_sla"] == "met", row
        gone = [r for r in rows if r["subject"] == "E0099"][0]
        assert gone["frozen_at"] == "no_account", gone
        assert gone["deactivated_at"] in ("no_account", "skipped"), gone
        recs = audit_records(d)
        verified = audit_verify(d)
        check_against_audit(rows, head_seq, head_hash, recs, verified)
        # The export is in the chain with its digest.
        exp = [x for x in recs if x["kind"] == "evidence.export"]
        assert [x["detail"]["sha256"] for x in exp] == [sha_csv], exp
        assert exp[0]["actor"] == "tests" and exp[0]["seq"] > head_seq, exp[0]
        assert exp[0]["detail"]["rows"] == 3 and exp[0]["detail"]["format"] == "csv", exp[0]

        # deprovctl, JSON to standard output: the same rows.
        r = ctl(d, "evidence", "--from", frm, "--to", to, "--format", "json", check=0)
        check_digest(r.stdout, "json")
        doc = json.loads(r.stdout)
        assert doc["evidence"]["selected_by"] == "termination_time", doc["evidence"]
        assert doc["rows_count"] == 3 and len(doc["rows"]) == 3, doc
        by_case = {int(x["case_id"]): x for x in rows}
        for j in doc["rows"]:
            c = by_case[j["case_id"]]
            assert j["subject"] == c["subject"] and j["target"] == c["target"], (j, c)
            assert (j["frozen_at"] or j["freeze"]) == c["frozen_at"], (j, c)
            assert (j["deactivated_at"] or j["deactivate"]) == c["deactivated_at"], (j, c)
            assert [j["audit_seq"]["first"], j["audit_seq"]["last"]] == \
                [int(c["audit_seq_first"]), int(c["audit_seq_last"])], (j, c)
        assert doc["audit_head"]["seq"] >= head_seq, doc["audit_head"]

        # The API itself, both formats.
        st, ctype, body = get_raw(d, "from=%s&to=%s&format=json" % (frm, to))
        assert st == 200 and ctype == "application/json", (st, ctype)
        check_digest(body, "json")
        jrows = json.loads(body)["rows"]
        jhead = json.loads(body)["audit_head"]
        recs = audit_records(d)
        check_against_audit([{k: (str(v) if not isinstance(v, dict) else v)
                              for k, v in dict(x, audit_seq_first=x["audit_seq"]["first"],
                                               audit_seq_last=x["audit_seq"]["last"],
                                               frozen_at=x["frozen_at"] or x["freeze"],
                                               tokens_revoked_at=x["tokens_revoked_at"] or
                                               x["revoke_tokens"],
                                               deactivated_at=x["deactivated_at"] or
                                               x["deactivate"]).items()}
                             for x in jrows], jhead["seq"], jhead["hash"], recs,
                            audit_verify(d))
        st, ctype, body = get_raw(d, "from=%s&to=%s" % (frm, to))
        assert st == 200 and ctype.startswith("text/csv"), (st, ctype)
        check_digest(body, "csv")
        assert len(csv_rows(body)[0]) == 3
        # Only the old leaver when asked for its day.
        st, _, body = get_raw(d, "from=2020-01-02&to=2020-01-02&format=csv")
        assert st == 200 and [r["subject"] for r in csv_rows(body)[0]] == ["E0003"], body
        # An empty range is an export too: header, head, digest.
        st, _, body = get_raw(d, "from=2019-01-01&to=2019-02-01&format=csv")
        assert st == 200 and csv_rows(body)[0] == [], body
        check_digest(body, "csv")
    finally:
        d.stop()
        sb.stop()


def test_bad_dates(work):
    sb = Sandbox(work, seed_people(1))
    d = Daemon(work, sb).start()
    try:
        for q in ("from=2026-13-01&to=2026-12-31", "from=2026-02-30&to=2026-03-01",
                  "from=yesterday&to=2026-03-01", "from=2026-03-01T09:00:00&to=2026-03-02",
                  "from=2026-03-01", "to=2026-03-01", "from=2026-03-02&to=2026-03-01",
                  "from=2026-03-01&to=2026-03-02&format=xlsx",
                  "from=2026-03-01&to=2026-03-02&form=csv",
                  "from=2026-03-01&from=2026-03-01&to=2026-03-02"):
            st, ctype, body = get_raw(d, q)
            assert st == 400 and ctype == "application/json", (q, st, body)
            assert json.loads(body)["error"] == "bad_request", (q, body)
        st, _, _ = get_raw(d, "from=2026-03-01&to=2026-03-02", token="wrong")
        assert st == 401, st
        # Strict RFC 3339 with an offset is fine.
        st, _, body = get_raw(d, "from=2026-03-01T09:00:00%2B01:00&to=2026-03-02T00:00:00Z")
        assert st == 200, (st, body)
        for args in (("--from", "2026-03-01T9:00:00Z", "--to", "2026-03-02"),
                     ("--from", "2026-03-01", "--to", "2026-02-01"),
                     ("--from", "2026-03-01", "--to", "2026-03-02", "--format", "xml"),
                     ("--from", "2026-03-01")):
            r = ctl(d, "evidence", *args, check=2)
            assert r.stdout == b"", r.stdout
        r = ctl(d, "evidence", "--from", "2026-03-01T09:00:00+01:00", "--to", "2026-03-02",
                check=0)
        check_digest(r.stdout, "csv")
    finally:
        d.stop()
        sb.stop()


TESTS = {f.__name__[5:]: f for f in [test_export, test_bad_dates]}

if __name__ == "__main__":
    main(TESTS)
