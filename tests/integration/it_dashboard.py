#!/usr/bin/env python3
"""SLA dashboard and admin-API TLS integration tests: the real deprovd against
the embedded Kafka mock cluster and deprov-sandbox; the page is rendered by
headless Chromium (Debian package `chromium`; a missing browser is a failure,
never a skip). Run one test: it_dashboard.py --build DIR NAME.

DEPROV_UPDATE_SCREENSHOT=1 makes the browser test copy its screenshot to
docs/dashboard.png (CI runs leave the tree alone)."""

import base64
import hashlib
import html.parser
import http.client as httpclient
import json
import os
import re
import shutil
import socket
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.request
import warnings

sys.path.insert(0, os.path.dirname(__file__))
from harness import (ADMIN_TOKEN, API_TOKEN, RESPONDER_TOKEN, SANDBOX_TOKEN,  # noqa: E402
                     SOURCE_DIR, Daemon, Sandbox, build_dir, emergency_runbook, gen_cert,
                     leaver_for, log, publish, main, run, seed_people, standard_runbook,
                     tls_config, user_id, wait_for)

STATES = ("received", "scheduled", "freezing", "contained", "remediating", "deactivating",
          "completed", "cancelled", "escalated")


# ---------------------------------------------------------------- helpers

def summary(d, token=API_TOKEN):
    st, body = d.call("GET", "/v1/summary", token=token)
    assert st == 200, (st, body)
    return body


def wait_summary(d, pred, timeout, what):
    """Poll /v1/summary (cached up to 1 s by the daemon) until pred holds."""
    return wait_for(lambda: (lambda s: s if pred(s) else None)(summary(d)), timeout, what, 0.3)


def get_raw(url, headers=None, timeout=10, context=None):
    req = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=timeout, context=context) as r:
            return r.status, dict(r.headers), r.read()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read()


def chromium():
    for name in ("chromium", "chromium-browser", "google-chrome"):
        p = shutil.which(name)
        if p:
            return p
    raise AssertionError("headless Chromium is required for the dashboard test and was not found: "
                         "install the Debian package `chromium` (./deploy/install-deps does)")


def browse(work, url, extra_args, name, timeout=120):
    """Run headless Chromium once on url; returns its stdout."""
    profile = os.path.join(work.path, "chromium-" + name)
    os.makedirs(profile, exist_ok=True)
    cmd = [chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
           "--no-first-run", "--disable-background-networking", "--disable-component-update",
           "--disable-sync", "--disable-dev-shm-usage", "--hide-scrollbars",
           "--force-device-scale-factor=1", "--user-data-dir=" + profile,
           "--virtual-time-budget=8000"] + extra_args + [url]
    env = dict(os.environ, HOME=work.path)
    r = subprocess.run(cmd, capture_output=True, timeout=timeout, env=env)
    with open(os.path.join(work.path, "chromium-%s.stderr" % name), "wb") as f:
        f.write(r.stderr)
    assert r.returncode == 0, ("chromium failed", r.returncode, r.stderr.decode(errors="replace")[-2000:])
    return r.stdout.decode(errors="replace")


class Dom(html.parser.HTMLParser):
    """A dumped DOM as a flat list of elements with their attributes and text."""
    VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source",
            "track", "wbr"}

    def __init__(self, text):
        super().__init__(convert_charrefs=True)
        self.elements, self.stack = [], []
        self.feed(text)
        self.close()

    def handle_starttag(self, tag, attrs):
        self.handle_data(" ")   # element boundaries separate words
        e = {"tag": tag, "attrs": dict(attrs), "text": "", "children": []}
        if self.stack:
            self.stack[-1]["children"].append(e)
        self.elements.append(e)
        if tag not in self.VOID:
            self.stack.append(e)

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)
        if tag not in self.VOID:
            self.stack.pop()

    def handle_endtag(self, tag):
        self.handle_data(" ")
        for i in range(len(self.stack) - 1, -1, -1):
            if self.stack[i]["tag"] == tag:
                del self.stack[i:]
                return

    def handle_data(self, data):
        for e in self.stack:
            e["text"] += data

    def by_id(self, i):
        for e in self.elements:
            if e["attrs"].get("id") == i:
                return e
        raise AssertionError("no element #%s in the rendered page" % i)

    def text(self, i):
        return " ".join(self.by_id(i)["text"].split())


def case_rows(dom, tbody_id):
    """{case id: (class, [cell texts])} of the rows of a table body."""
    rows = {}
    for tr in dom.by_id(tbody_id)["children"]:
        if tr["tag"] == "tr" and "data-case-id" in tr["attrs"]:
            cells = [" ".join(td["text"].split()) for td in tr["children"] if td["tag"] == "td"]
            rows[int(tr["attrs"]["data-case-id"])] = (tr["attrs"].get("class") or "", cells)
    return rows


def page_checks(status, headers, body):
    """GET /: public, self-contained, and served with the hardening headers."""
    h = {k.lower(): v for k, v in headers.items()}
    assert status == 200, status
    assert h["content-type"].startswith("text/html"), h
    assert h["x-frame-options"] == "DENY", h
    assert "no-store" in h["cache-control"], h
    assert h["x-content-type-options"] == "nosniff", h
    csp = h["content-security-policy"]
    text = body.decode()
    # The policy allows exactly the page's own inline script and style, by hash.
    for tag, directive in (("script", "script-src"), ("style", "style-src")):
        blocks = re.findall(r"<%s>(.*?)</%s>" % (tag, tag), text, re.S)
        assert len(blocks) == 1, (tag, len(blocks))
        digest = base64.b64encode(hashlib.sha256(blocks[0].encode()).digest()).decode()
        m = re.search(r"%s ([^;]+)" % directive, csp)
        assert m and m.group(1).strip() == "'sha256-%s'" % digest, (directive, csp, digest)
    assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp, csp
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp, csp
    # Self-contained: nothing loaded from elsewhere (no CDN, no web fonts).
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", text), "external reference in page"
    assert "@import" not in text and "url(" not in text, "external stylesheet reference"
    # Values go to the DOM as text only.
    assert "innerHTML" not in text and "outerHTML" not in text and "insertAdjacentHTML" not in text
    assert "document.write" not in text and "eval(" not in text


def contractor_runbook():
    """A runbook with a 2 s freeze budget, to produce a visible breach."""
    return {"name": "contractor-leaver",
            "match": {"type": ["io.deprov.leaver"], "termination_kind": ["contractor"]},
            "sla": {"freeze_within_s": 2, "complete_within_s": 600},
            "retry": {"max_attempts": 1000, "initial_backoff_ms": 400, "max_backoff_ms": 1500},
            "targets": [{"select": {"name": "*"}, "steps": ["freeze", "revoke_tokens", "deactivate"]}]}


# Three targets: Salesforce (the harness's), Okta and a SCIM app (Slack), all in one sandbox.
LIMITS = {"rate_per_sec": 500, "burst": 100, "concurrency": 16, "timeout_ms": 5000,
          "connect_timeout_ms": 2000}
OKTA_SUSPEND = {"path": "/okta/", "method": "POST", "mode": "status", "status": 403}


def three_targets(sb):
    def extra(cfg):
        cfg["targets"]["okta"] = {"kind": "okta", "base_url": sb.url + "/okta",
                                  "auth": {"type": "ssws", "token": SANDBOX_TOKEN},
                                  "limits": dict(LIMITS)}
        cfg["targets"]["slack"] = {"kind": "scim", "base_url": "%s/scim/slack/v2" % sb.url,
                                   "auth": {"type": "bearer", "token": SANDBOX_TOKEN},
                                   "limits": dict(LIMITS), "options": {"preset": "slack"}}
    return extra


def three_target_seed(n, slack=None):
    """seed_people(n) in Salesforce, the same people in Okta, and in Slack those of slack
    (default: everyone)."""
    seed = seed_people(n)
    seed["okta"] = {"users": [{"login": "emp%04d@acme.example" % i, "status": "ACTIVE"}
                              for i in range(1, n + 1)]}
    seed["scim"] = {"slack": {"users": [{"userName": "emp%04d@acme.example" % i,
                                         "externalId": "E%04d" % i,
                                         "email": "emp%04d@acme.example" % i}
                                        for i in (slack or range(1, n + 1))]}}
    return seed


def three_target_runbook(max_attempts=3):
    """The standard leaver at every target (few retries, so a refused freeze fails fast)."""
    rb = standard_runbook(max_attempts=max_attempts)
    rb["targets"] += [{"select": {"kind": "okta"}, "steps": ["freeze", "revoke_tokens", "deactivate"]},
                      {"select": {"kind": "scim"}, "steps": ["freeze", "deactivate"]}]
    return rb


def by_target(entries):
    return {e["target"]: e for e in entries}


# ---------------------------------------------------------------- tests

def test_summary(work):
    n = 3
    sb = Sandbox(work, seed_people(n))
    d = Daemon(work, sb, runbooks=[emergency_runbook(), standard_runbook()]).start()
    try:
        # Data calls need a viewer token; the page itself is public.
        st, err = d.call("GET", "/v1/summary")
        assert st == 401 and err["error"] == "unauthorized", (st, err)
        assert d.call("GET", "/v1/summary", token="nope")[0] == 401
        assert d.call("POST", "/v1/summary", {}, token=API_TOKEN)[0] == 405
        page_checks(*get_raw(d.url("/")))

        s = summary(d)
        assert s["open"] == 0 and s["open_cases"] == [] and s["recent"] == [], s
        assert sum(s["counts"].values()) == 0, s["counts"]
        assert set(s["counts"]) == set(STATES), s["counts"]
        assert s["sla"]["overall"]["compliance"] is None, s["sla"]
        assert s["time_to_freeze"]["p50_ms"] is None and s["time_to_freeze"]["count"] == 0

        publish(d.bootstrap, [("E%04d" % i, leaver_for(i)) for i in range(1, n + 1)])
        for i in range(1, n + 1):
            d.wait_case("E%04d" % i, timeout=60)
        s = wait_summary(d, lambda s: s["counts"]["completed"] == n, 10, "completed in summary")
        log("summary:", json.dumps({k: s[k] for k in ("counts", "sla", "time_to_freeze")}))
        assert s["open"] == 0, s
        assert all(s["counts"][k] == 0 for k in STATES if k != "completed"), s["counts"]
        assert abs(s["now_ms"] - time.time() * 1000) < 5000, s["now_ms"]
        assert s["window_ms"] == 24 * 3600 * 1000
        sla = s["sla"]
        assert sla["cases"] == n, sla
        for k in ("freeze", "complete", "overall"):
            assert sla[k] == {"met": n, "breached": 0, "pending": 0, "compliance": 1.0}, (k, sla)
        ttf = s["time_to_freeze"]
        assert ttf["count"] == n, ttf
        assert 0 <= ttf["p50_ms"] <= ttf["p95_ms"] <= ttf["p99_ms"] <= ttf["max_ms"] < 60000, ttf
        assert sum(b["count"] for b in ttf["histogram"]) == n, ttf
        bounds = [b["le_ms"] for b in ttf["histogram"]]
        assert bounds[-1] is None and bounds[:-1] == sorted(bounds[:-1]), bounds
        # The time-to-freeze of each case agrees with the case view.
        cases = {c["subject_key"]: c for c in d.cases()}
        assert [r["id"] for r in s["recent"]] == sorted((c["id"] for c in cases.values()),
                                                       reverse=True), s["recent"]
        ttfs = []
        for r in s["recent"]:
            c = cases[r["subject_key"]]
            assert r["id"] == c["id"] and r["state"] == "completed", (r, c)
            assert r["email"] == "emp%04d@acme.example" % int(r["subject_key"][1:]), r
            assert r["frozen_ms"] == c["frozen_ms"] and r["completed_ms"] == c["completed_ms"], (r, c)
            assert r["time_to_freeze_ms"] == c["frozen_ms"] - max(c["created_ms"], c["effective_ms"] or 0)
            assert r["freeze_breached"] is False and r["complete_breached"] is False, r
            ttfs.append(r["time_to_freeze_ms"])
        ttfs.sort()
        # Nearest rank over three values: p50 is the 2nd smallest, p95/p99 the largest.
        assert (ttf["p50_ms"], ttf["p95_ms"], ttf["p99_ms"], ttf["max_ms"]) == \
            (ttfs[1], ttfs[2], ttfs[2], ttfs[2]), (ttf, ttfs)

        # The page's freeze path: a responder's POST /v1/freeze shows up in the summary
        # (a viewer's is refused).
        body = {"subject": {"email": "emp0002@acme.example"}, "reason": "INC-42 dashboard"}
        assert d.call("POST", "/v1/freeze", body, token=API_TOKEN)[0] == 403
        st, r = d.call("POST", "/v1/freeze", body, token=RESPONDER_TOKEN)
        assert st == 202, (st, r)
        d.wait_case("emp0002@acme.example", timeout=30)
        s = wait_summary(d, lambda s: s["counts"]["completed"] == n + 1, 10, "freeze case in summary")
        row = [x for x in s["recent"] if x["id"] == r["case_id"]]
        assert row and row[0]["urgent"] is True and row[0]["reason"] == "INC-42 dashboard", s["recent"]
        assert row[0]["runbook"] == "emergency-freeze", row
        assert API_TOKEN not in d.log_text() and RESPONDER_TOKEN not in d.log_text()
        assert d.stop() == 0   # (and no leak reported under the sanitizers)
    finally:
        d.stop()
        sb.stop()


def descendants(e):
    for c in e["children"]:
        yield c
        yield from descendants(c)


def row_elements(dom, tbody_id):
    """The rows of a table body that carry a case id, in page order."""
    return [tr for tr in dom.by_id(tbody_id)["children"]
            if tr["tag"] == "tr" and "data-case-id" in tr["attrs"]]


def chips_in(e):
    """{class: [(text, title)]} of the containment chips under e."""
    out = {}
    for c in descendants(e):
        cls = c["attrs"].get("class") or ""
        if "chip" in cls.split():
            kind = [k for k in cls.split() if k.startswith("c-")][0]
            out.setdefault(kind, []).append((" ".join(c["text"].split()), c["attrs"].get("title", "")))
    return out


def test_browser(work):
    n = 7
    # emp0007 has no Slack account.
    sb = Sandbox(work, three_target_seed(n, slack=range(1, n)))
    d = Daemon(work, sb, runbooks=[emergency_runbook(), contractor_runbook(),
                                   three_target_runbook(max_attempts=10)], extra=three_targets(sb))
    d.start()
    try:
        # Four leavers contained at every target and completed (two of the Salesforce freezes
        # slowed down, so the time-to-freeze chart has a spread), an emergency freeze that completes.
        freeze_path = "/services/data/v60.0/sobjects/UserLogin/"
        sb.fault({"path": freeze_path, "method": "PATCH", "mode": "latency", "latency_ms": 400,
                  "count": 1})
        sb.fault({"path": freeze_path, "method": "PATCH", "mode": "latency", "latency_ms": 900,
                  "count": 2})
        publish(d.bootstrap, [("E%04d" % i, leaver_for(i)) for i in range(1, 5)])
        for i in range(1, 5):
            d.wait_case("E%04d" % i, timeout=60)
        st, fr = d.call("POST", "/v1/freeze", {"subject": {"email": "emp0003@acme.example"},
                                               "reason": "INC-7731 token reuse"}, token=RESPONDER_TOKEN)
        assert st == 202, (st, fr)
        d.wait_case("emp0003@acme.example", timeout=30)
        # A leaver due in three days: open, scheduled, counting down.
        later = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 3 * 86400 + 3600))
        publish(d.bootstrap, [("E0005", leaver_for(5, effective=later))])
        d.wait_case("E0005", states=("scheduled",), timeout=30)
        # Okta refuses emp0007's suspend (403): the freeze failed there, the case escalates at
        # once; frozen in Salesforce, no account in Slack.
        sb.fault(OKTA_SUSPEND)
        publish(d.bootstrap, [("E0007", leaver_for(7))])
        bad = d.wait_case("E0007", states=("escalated",), timeout=60)
        sb.clear_faults()
        # A contractor whose Salesforce freeze keeps failing (503): being frozen now, past its
        # 2 s budget; frozen at Okta and Slack meanwhile.
        sb.fault({"path": freeze_path, "method": "PATCH", "mode": "status", "status": 503})
        publish(d.bootstrap, [("E0006", leaver_for(6, kind="contractor"))])
        stuck = d.wait_case("E0006", states=("freezing",), timeout=30)

        def ready(s):
            rows = {c["id"]: c for c in s["open_cases"]}
            return s["exposed"]["people"] == 2 and stuck["id"] in rows and \
                rows[stuck["id"]]["freeze_breached"] and \
                [t["status"] for t in rows[stuck["id"]]["containment"]] == ["frozen", "pending", "frozen"]
        s = wait_summary(d, ready, 20, "the contractor's breach, frozen at Okta and Slack")
        log("summary before rendering:", json.dumps(s["exposed"]), json.dumps(s["sla"]),
            json.dumps(s["counts"]))

        url = "http://127.0.0.1:%d/#token=%s" % (d.api_port, API_TOKEN)
        dom_text = browse(work, url, ["--dump-dom"], "dom")
        with open(os.path.join(work.path, "dom.html"), "w") as f:
            f.write(dom_text)
        dom = Dom(dom_text)
        s = summary(d)

        # The headline: who can still sign in somewhere, failed freezes first and loudly.
        assert "alert" in dom.by_id("exposure")["attrs"]["class"].split(), dom.by_id("exposure")["attrs"]
        assert dom.text("exposed-count") == "2", dom.text("exposed-count")
        assert dom.text("exposed-headline") == "people still exposed", dom.text("exposed-headline")
        split = dom.text("exposed-split")
        assert "1 freeze failed" in split and "1 being frozen now" in split, split
        xrows = row_elements(dom, "exposed-cases")
        assert [int(r["attrs"]["data-case-id"]) for r in xrows] == [bad["id"], stuck["id"]], xrows
        assert "xfail" in xrows[0]["attrs"]["class"].split() and "xpend" in xrows[1]["attrs"]["class"].split()
        cells = [" ".join(td["text"].split()) for td in xrows[0]["children"] if td["tag"] == "td"]
        assert "emp0007@acme.example" in cells[0] and cells[1] == "#%d" % bad["id"], cells
        assert cells[2] == "standard-leaver", cells
        assert "✗ okta failed" in cells[3] and "HTTP 403" in cells[3], cells
        assert "contained at salesforce-prod, slack" in cells[3], cells
        c = chips_in(xrows[0])
        assert list(c) == ["c-failed"] and "HTTP 403" in c["c-failed"][0][1], c
        cells = [" ".join(td["text"].split()) for td in xrows[1]["children"] if td["tag"] == "td"]
        assert "emp0006@acme.example" in cells[0] and "contractor-leaver" in cells[2], cells
        assert "salesforce-prod" in cells[3] and "503" in cells[3], cells
        assert "contained at okta, slack" in cells[3], cells
        assert list(chips_in(xrows[1])) == ["c-pending"], chips_in(xrows[1])

        # Live counts by state, as the API has them.
        for k in STATES:
            assert dom.text("count-" + k) == str(s["counts"][k]), (k, dom.text("count-" + k), s["counts"])
        assert dom.text("count-completed") == "5", dom.text("count-completed")
        assert dom.text("count-open") == "3", dom.text("count-open")
        assert dom.text("count-scheduled") == "1" and dom.text("count-escalated") == "1"
        # SLA compliance: 5 of the 7 judged cases met both budgets; the contractor froze late
        # and emp0007's case escalated without being contained (breached at once, well within
        # its 60 s budget); the scheduled one is pending.
        assert s["sla"]["overall"]["met"] == 5 and s["sla"]["overall"]["breached"] == 2, s["sla"]
        assert s["sla"]["freeze"]["breached"] == 2 and s["sla"]["freeze"]["pending"] == 1, s["sla"]
        assert dom.text("sla-overall") == "71.4%", dom.text("sla-overall")
        assert dom.text("sla-freeze") == "71.4%", dom.text("sla-freeze")
        assert dom.text("sla-complete") == "100%", dom.text("sla-complete")  # no completion is late
        assert "2 breached" in dom.text("sla-overall-sub"), dom.text("sla-overall-sub")
        # Time to freeze: percentiles and a drawn histogram with one bar per bucket.
        for p in ("ttf-p50", "ttf-p95", "ttf-p99"):
            assert re.fullmatch(r"\d+(\.\d)? (ms|s)", dom.text(p)), (p, dom.text(p))
        assert dom.text("ttf-count") == "5", dom.text("ttf-count")
        ttf = s["time_to_freeze"]
        assert ttf["p99_ms"] >= 900 and ttf["p50_ms"] < ttf["p99_ms"], ttf   # the slowed freezes
        rects = [c for c in dom.by_id("ttf-hist")["children"] if c["tag"] == "rect"]
        assert len(rects) == 11, len(rects)
        bars = [r for r in rects if "b" in r["attrs"]["class"].split()]
        assert len(bars) == len([b for b in ttf["histogram"] if b["count"]]) >= 2, (bars, ttf)

        # Open cases with their targets: Case, Subject, Runbook, State, Targets, Freeze deadline,
        # Complete deadline, Opened, Last error.
        rows = case_rows(dom, "open-cases")
        sched = d.cases(subject="E0005")[0]["id"]
        assert set(rows) == {stuck["id"], sched, bad["id"]}, rows
        # The contractor: highlighted as breached, its freeze overdue and still counting.
        cls, cells = rows[stuck["id"]]
        assert "breach" in cls.split(), (cls, cells)
        assert "emp0006@acme.example" in cells[1] and "contractor-leaver" in cells[2], cells
        assert cells[3] == "freezing" and cells[5].startswith("overdue"), cells
        # emp0007: a failed chip with the error in its title and its text; escalated, so a
        # verdict and no countdown.
        cls, cells = rows[bad["id"]]
        assert "breach" in cls.split() and cells[3] == "escalated", (cls, cells)
        assert "✗ okta failed" in cells[4], cells
        assert "✓ salesforce-prod" in cells[4] and "○ slack · no account" in cells[4], cells
        assert cells[5] == "✗ not contained · escalated", cells
        assert cells[6] == "– stopped · escalated", cells
        assert cells[8].startswith("okta freeze failed: ") and "HTTP 403" in cells[8], cells
        tr = [e for e in row_elements(dom, "open-cases") if e["attrs"]["data-case-id"] == str(bad["id"])][0]
        c = chips_in(tr)
        assert sorted(c) == ["c-failed", "c-frozen", "c-no_account"], c
        (text, title), = c["c-failed"]
        assert text == "✗ okta failed" and "freeze FAILED" in title and "HTTP 403" in title, (text, title)
        assert "still sign in" in title, title
        # The scheduled one counts down from its effective date.
        cls, cells = rows[sched]
        assert "breach" not in cls.split() and "emp0005@acme.example" in cells[1], (cls, cells)
        assert cells[3] == "scheduled" and re.match(r"in 3 d", cells[5]), cells
        assert "due " in cells[7], cells
        # Not due yet: its freezes wait (no spinner as if being frozen).
        c = chips_in([e for e in row_elements(dom, "open-cases") if e["attrs"]["data-case-id"] == str(sched)][0])
        assert list(c) == ["c-none"] and len(c["c-none"]) == 3 and "not due yet" in c["c-none"][0][1], c
        # Recently closed: the four leavers and the emergency freeze, contained everywhere.
        recent = case_rows(dom, "recent-cases")
        assert len(recent) == 5, recent
        cls, cells = recent[fr["case_id"]]
        assert "urgent" in cells[0] and "freeze" in cells[0], cells
        assert "emp0003@acme.example" in cells[1] and "INC-7731" in cells[1], cells
        assert any("emp0001@acme.example" in c[1][1] and "within budget" in c[1][7] and
                   c[1][4].count("✓") == 3 for c in recent.values()), recent
        # Live: the status pill says the last poll worked; the token is nowhere in the page.
        assert dom.text("status").startswith("live"), dom.text("status")
        assert "hidden" in dom.by_id("banner")["attrs"].get("class", ""), dom.text("banner")
        assert API_TOKEN not in dom_text
        assert API_TOKEN not in d.log_text()

        # A link to a case opens the case view: containment, steps per target with states,
        # attempts, errors.
        dom = Dom(browse(work, url + "&case=%d" % stuck["id"], ["--dump-dom"], "case"))
        assert "hidden" not in dom.by_id("drawer")["attrs"]["class"].split(), dom.by_id("drawer")
        assert dom.text("case-title") == "Case #%d · emp0006@acme.example" % stuck["id"], dom.text("case-title")
        body = dom.text("case-body")
        assert "contractor-leaver" in body and "BREACHED" in body, body
        assert "NO: still exposed at salesforce-prod" in body, body
        c = chips_in(dom.by_id("case-body"))
        assert sorted(c) == ["c-frozen", "c-pending"] and len(c["c-frozen"]) == 2, c
        full = d.case(stuck["id"])
        freeze = [x for x in full["steps"] if x["step"] == "freeze" and x["target"] == "salesforce-prod"][0]
        assert freeze["attempts"] > 1 and "503" in freeze["last_error"], freeze
        targets = {t["text"].split()[0]: t for t in dom.elements if t["attrs"].get("class") == "target"}
        assert sorted(targets) == ["okta", "salesforce-prod", "slack"], list(targets)
        steps = [" ".join(li["text"].split()) for li in targets["salesforce-prod"]["children"][1]["children"]]
        assert [x.split()[0] for x in steps] == ["freeze", "revoke_tokens", "deactivate"], steps
        assert re.search(r"attempts \d+", steps[0]) and "HTTP 503" in steps[0], steps[0]
        assert "pending" in steps[1] and "pending" in steps[2], steps
        tl = [e for e in dom.elements if e["tag"] == "ul" and e["attrs"].get("class") == "tl"]
        assert tl and "received" in tl[0]["text"] and "retry" in tl[0]["text"], tl
        # The escalated case's view: breached at once, still exposed at Okta, every error.
        dom = Dom(browse(work, url + "&case=%d" % bad["id"], ["--dump-dom"], "case-bad"))
        body = dom.text("case-body")
        assert "BREACHED (escalated, not contained)" in body and "NO: still exposed at okta" in body, body
        assert "okta freeze: " in body and "HTTP 403" in body, body
        assert "c-failed" in chips_in(dom.by_id("case-body")), body

        # Without a token the page asks for one (and shows no data).
        dom = Dom(browse(work, "http://127.0.0.1:%d/" % d.api_port, ["--dump-dom"], "notoken"))
        assert dom.text("status") == "no token" and "Enter an API token" in dom.text("banner")
        assert dom.text("count-completed") == "–" and dom.text("exposed-count") == "–"

        shot = os.path.join(work.path, "dashboard.png")
        browse(work, url, ["--screenshot=" + shot, "--window-size=1400,1650"], "shot")
        with open(shot, "rb") as f:
            png = f.read()
        assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 20000, len(png)
        log("screenshot:", shot, len(png), "bytes")
        if os.environ.get("DEPROV_UPDATE_SCREENSHOT") == "1":
            dest = os.path.join(SOURCE_DIR, "docs", "dashboard.png")
            shutil.copyfile(shot, dest)
            log("updated", dest)
        assert d.stop() == 0
    finally:
        d.stop()
        sb.stop()


def test_exposure(work):
    """Still exposed: one of three targets refuses the freeze (Okta 403): the person is
    exposed there with the error, contained at the other two, the case escalated and its
    freeze budget breached at once. After the fault is gone and an admin retries the case,
    no one is exposed."""
    sb = Sandbox(work, three_target_seed(2, slack=[1]))
    d = Daemon(work, sb, runbooks=[three_target_runbook()], extra=three_targets(sb)).start()
    try:
        s = summary(d)
        assert s["exposed"] == {"people": 0, "failed": 0, "being_frozen": 0, "cases": [],
                                "truncated": False}, s["exposed"]

        # A leaver contained everywhere (and completed) is not exposed.
        publish(d.bootstrap, [("E0001", leaver_for(1))])
        ok = d.wait_case("E0001", timeout=60)
        s = wait_summary(d, lambda s: s["counts"]["completed"] == 1, 10, "first leaver completed")
        assert s["exposed"]["people"] == 0, s["exposed"]
        row = [r for r in s["recent"] if r["id"] == ok["id"]][0]
        assert row["contained"] is True and row["freezes"] is True and row["kind"] == "leaver", row
        assert {t["target"]: t["status"] for t in row["containment"]} == \
            {"salesforce-prod": "frozen", "okta": "frozen", "slack": "frozen"}, row["containment"]
        for t in row["containment"]:
            assert t["contained"] is True and t["at_ms"] >= row["due_ms"], t

        # Okta refuses the suspend: E0002 is exposed there (and has no Slack account).
        sb.fault(OKTA_SUSPEND)
        publish(d.bootstrap, [("E0002", leaver_for(2))])
        bad = d.wait_case("E0002", states=("escalated",), timeout=60)
        s = wait_summary(d, lambda s: s["exposed"]["people"] == 1, 10, "E0002 exposed")
        log("exposed:", json.dumps(s["exposed"]))
        x = s["exposed"]
        assert (x["failed"], x["being_frozen"], x["truncated"]) == (1, 0, False), x
        assert len(x["cases"]) == 1, x
        e = x["cases"][0]
        assert e["case_id"] == bad["id"] and e["subject_key"] == "E0002", e
        assert e["email"] == "emp0002@acme.example" and e["runbook"] == "standard-leaver", e
        assert e["failed"] is True and e["kind"] == "leaver" and e["state"] == "escalated", e
        assert e["since_ms"] == bad["created_ms"], (e, bad)
        assert [t["target"] for t in e["targets"]] == ["okta"], e["targets"]
        t = e["targets"][0]
        assert t["status"] == "failed" and t["step_state"] == "failed" and t["attempts"] >= 1, t
        assert "403" in t["error"], t
        assert sorted(e["contained_at"]) == ["salesforce-prod", "slack"], e
        # Its open row: the per-target view, escalated and breached (the budget is 60 s).
        row = [r for r in s["open_cases"] if r["id"] == bad["id"]][0]
        assert row["state"] == "escalated" and row["contained"] is False, row
        assert row["freeze_breached"] is True and row["frozen_ms"] is None, row
        assert row["freeze_deadline_ms"] > s["now_ms"], row   # breached before its deadline
        per = by_target(row["containment"])
        assert per["okta"]["status"] == "failed" and "403" in per["okta"]["error"], per
        assert per["okta"]["contained"] is False, per
        assert per["salesforce-prod"]["status"] == "frozen" and per["salesforce-prod"]["contained"], per
        assert per["slack"]["status"] == "no_account" and per["slack"]["contained"], per
        assert s["sla"]["freeze"]["breached"] == 1 and s["sla"]["freeze"]["met"] == 1, s["sla"]
        # The case view agrees.
        full = d.case(bad["id"])
        assert full["contained"] is False and full["exposed_targets"] == ["okta"], full
        # The other targets' steps go on: Salesforce is deactivated although Okta failed.
        wait_for(lambda: sb.user(user_id(2))["IsActive"] is False, 30, "E0002 deactivated in Salesforce")

        # A viewer cannot retry; an admin can, once the fault is gone.
        assert d.call("POST", "/v1/cases/%d/retry" % bad["id"], {}, token=API_TOKEN)[0] == 403
        sb.clear_faults()
        st, r = d.call("POST", "/v1/cases/%d/retry" % bad["id"], {}, token=ADMIN_TOKEN)
        assert st in (200, 202), (st, r)
        d.wait_case("E0002", timeout=60)
        s = wait_summary(d, lambda s: s["exposed"]["people"] == 0, 10, "no one exposed after the retry")
        assert s["exposed"]["cases"] == [] and s["exposed"]["failed"] == 0, s["exposed"]
        assert all(c["id"] != bad["id"] for c in s["open_cases"]), s["open_cases"]
        row = [r for r in s["recent"] if r["id"] == bad["id"]][0]
        assert row["contained"] is True and row["frozen_ms"] is not None, row
        assert by_target(row["containment"])["okta"]["status"] == "frozen", row["containment"]
        # The page says so calmly.
        dom = Dom(browse(work, "http://127.0.0.1:%d/#token=%s" % (d.api_port, API_TOKEN),
                         ["--dump-dom"], "calm"))
        assert "calm" in dom.by_id("exposure")["attrs"]["class"].split(), dom.by_id("exposure")["attrs"]
        assert dom.text("exposed-count") == "0" and dom.text("exposed-headline") == "No one exposed"
        assert "hidden" in dom.by_id("exposed-table")["attrs"]["class"].split()
        assert not row_elements(dom, "exposed-cases")
        assert d.stop() == 0
    finally:
        d.stop()
        sb.stop()


def start_fails(work, d, timeout=30):
    """Run the configured daemon expecting it to refuse to start; its stderr."""
    r = subprocess.run([os.path.join(build_dir(), "deprovd"), "--config", d.config],
                       capture_output=True, timeout=timeout)
    assert r.returncode != 0, ("deprovd started", r.stderr.decode(errors="replace")[-2000:])
    return r.stderr.decode(errors="replace")


def test_tls(work):
    cert, key = gen_cert(work)
    sb = Sandbox(work, seed_people(1))
    try:
        tls_serving(work, sb, cert, key)
        tls_refused_at_start(work, sb, cert, key)
    finally:
        sb.stop()


def tls_serving(work, sb, cert, key):
    d = Daemon(work, sb, extra=tls_config(cert, key)).start(wait_ready=False)
    try:
        base = "https://127.0.0.1:%d" % d.api_port
        pinned = ssl.create_default_context(cafile=cert)

        def healthy():
            assert d.proc.poll() is None, "deprovd exited: see %s" % d.stderr_path
            try:
                return get_raw(base + "/healthz", context=pinned, timeout=2)[0] == 200
            except OSError:
                return False
        wait_for(healthy, 30, "https /healthz")
        st, _, body = get_raw(base + "/readyz", context=pinned)
        assert st in (200, 503), st
        st, _, body = get_raw(base + "/v1/summary", {"Authorization": "Bearer " + API_TOKEN},
                              context=pinned)
        assert st == 200 and "counts" in json.loads(body), (st, body)
        assert get_raw(base + "/v1/summary", context=pinned)[0] == 401
        page_checks(*get_raw(base + "/", context=pinned))

        # A leaver still runs end to end, and the case is visible over https.
        publish(d.bootstrap, [("E0001", leaver_for(1))])

        def done():
            st, _, b = get_raw(base + "/v1/cases?subject=E0001", {"Authorization": "Bearer " + API_TOKEN},
                               context=pinned)
            cs = json.loads(b)["cases"] if st == 200 else []
            return cs and cs[0]["state"] == "completed"
        wait_for(done, 60, "case completed (over https)", 0.3)
        assert sb.user(user_id(1))["IsFrozen"] is True

        # Unpinned (the system CAs) the self-signed certificate is not trusted.
        try:
            get_raw(base + "/healthz", context=ssl.create_default_context())
            raise AssertionError("an untrusted certificate was accepted")
        except urllib.error.URLError as e:
            assert isinstance(e.reason, ssl.SSLCertVerificationError), e

        # Plain HTTP to the TLS port gets no answer.
        conn = httpclient.HTTPConnection("127.0.0.1", d.api_port, timeout=5)
        try:
            conn.request("GET", "/healthz")
            resp = conn.getresponse()
            raise AssertionError("plain http was answered: %s" % resp.status)
        except (httpclient.HTTPException, OSError) as e:
            log("plain http to the TLS port:", type(e).__name__, e)
        finally:
            conn.close()

        def handshake(lo, hi, seclevel0=False):
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
            ctx.load_verify_locations(cert)
            with warnings.catch_warnings():   # TLS 1.0/1.1 are deprecated: that is the point
                warnings.simplefilter("ignore", DeprecationWarning)
                ctx.minimum_version, ctx.maximum_version = lo, hi
            if seclevel0:
                # Let this client really offer TLS 1.0/1.1, so refusing it is the server's doing.
                ctx.set_ciphers("DEFAULT:@SECLEVEL=0")
            with socket.create_connection(("127.0.0.1", d.api_port), timeout=5) as raw:
                with ctx.wrap_socket(raw, server_hostname="127.0.0.1") as tls:
                    return tls.version(), tls.cipher()

        # TLS 1.2 and 1.3 work, with forward-secret AEAD suites.
        v, c = handshake(ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_2)
        assert v == "TLSv1.2" and c[0].startswith(("ECDHE-", "DHE-")) and \
            ("GCM" in c[0] or "CHACHA20" in c[0]), (v, c)
        v, c = handshake(ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_3)
        assert v == "TLSv1.3", (v, c)
        log("negotiated:", v, c)
        # TLS 1.1 (and 1.0) are refused by the server with a protocol_version alert.
        for hi in (ssl.TLSVersion.TLSv1_1, ssl.TLSVersion.TLSv1):
            try:
                v, c = handshake(ssl.TLSVersion.TLSv1, hi, seclevel0=True)
                raise AssertionError("%s was accepted: %s %s" % (hi, v, c))
            except ssl.SSLError as e:
                log("%s refused:" % hi.name, e.reason, e)
                assert "PROTOCOL_VERSION" in str(e.reason).upper() or \
                    "UNSUPPORTED_PROTOCOL" in str(e.reason).upper(), e
        # The daemon keeps serving after the failed handshakes.
        assert healthy()
        assert API_TOKEN not in d.log_text()
        assert d.stop() == 0
    finally:
        d.stop()


def tls_refused_at_start(work, sb, cert, key):
    # Start-up refuses a key that does not match the certificate, and a file that is no
    # certificate, with a clear message.
    _, other_key = gen_cert(work, "other")
    bad = Daemon(work, sb, extra=tls_config(cert, other_key))
    err = start_fails(work, bad)
    assert "does not match" in err and "api.tls" in err, err
    junk = work.file("junk-cert.pem", "this is not a certificate\n")
    bad = Daemon(work, sb, extra=tls_config(junk, key))
    err = start_fails(work, bad)
    assert "api.tls.cert_file" in err and "junk-cert.pem" in err, err
    bad = Daemon(work, sb, extra=tls_config(cert, junk))
    err = start_fails(work, bad)
    assert "api.tls.key_file" in err and "junk-cert.pem" in err, err
    # An encrypted key is refused at once (a daemon never prompts for a passphrase).
    locked = os.path.join(work.path, "locked-key.pem")
    subprocess.run(["openssl", "pkey", "-in", key, "-aes256", "-passout", "pass:secret", "-out", locked],
                   check=True, capture_output=True)
    bad = Daemon(work, sb, extra=tls_config(cert, locked))
    err = start_fails(work, bad)
    assert "api.tls.key_file" in err and "unencrypted" in err, err
    # --check already reports a missing file as file:line.
    missing = os.path.join(work.path, "missing.pem")
    bad = Daemon(work, sb, extra=tls_config(missing, key))
    r = subprocess.run([os.path.join(build_dir(), "deprovd"), "--config", bad.config, "--check"],
                       capture_output=True, timeout=30)
    assert r.returncode == 2 and b"missing.pem" in r.stderr, r


TESTS = {f.__name__[5:]: f for f in [test_summary, test_exposure, test_browser, test_tls]}

if __name__ == "__main__":
    main(TESTS)
