#!/usr/bin/env python3
"""The admin API's description (docs/openapi.yaml, served at /openapi.json)
against the daemon that serves it.

routes_match_spec: deprovd's own route table (the DEPROV_TEST_ROUTES_FILE test
hook writes it once every module has added its routes) and the operations of
the description it serves are the same set of (method, path), with the same
least role (x-deprov-role). A route added without its description, or an
operation described that no route serves, fails here. Skips (77) on a build
without test hooks (Release).

schemathesis: Schemathesis (property-based, from PyPI; deploy/install-deps
puts it in a venv) sends every operation generated valid and invalid requests
with a viewer's, a responder's and an admin's token: no answer may be a 5xx,
every status must be one the description lists, and every body and header
must match it; the daemon must stay up. Bounded: few examples per operation,
a fixed seed (DEPROV_SCHEMATHESIS_SEED to change it), no stateful phase."""

import json
import os
import socket
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
from harness import (ADMIN_TOKEN, API_TOKEN, RESPONDER_TOKEN, Daemon, Sandbox,  # noqa: E402
                     build_dir, emergency_runbook, http, log, main, seed_people,
                     standard_runbook, unfreeze_runbook)

SKIP = 77
METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
# The Okta hook's secret is the admin's whole Authorization header, so the
# admin's run exercises the hook's accepted answers and the others its 401,
# with the one header Schemathesis sends.
OKTA_SECRET = "Bearer " + ADMIN_TOKEN
ROLES = (("viewer", API_TOKEN), ("responder", RESPONDER_TOKEN), ("admin", ADMIN_TOKEN))


def reinstate_runbook():
    return {"name": "reinstate", "match": {"type": ["io.deprov.reinstate"]},
            "targets": [{"select": {"name": "*"}, "steps": ["reactivate"]}]}


def with_okta(cfg):
    cfg["ingest"] = {"okta": {"source": "/idp/okta", "hook_authorization": OKTA_SECRET}}


def start(work, env=None):
    """A sandbox and a deprovd with every optional route (the Okta hook) and
    a runbook for every kind of case the API opens."""
    sb = Sandbox(work, seed=seed_people(3))
    d = Daemon(work, sb, runbooks=[standard_runbook(), emergency_runbook(), unfreeze_runbook(),
                                   reinstate_runbook()], extra=with_okta)
    old = dict(os.environ)
    os.environ.update(env or {})
    try:
        d.start()
    finally:
        os.environ.clear()
        os.environ.update(old)
    return sb, d


def spec_of(d):
    """The description the daemon serves, checked to be the build's."""
    st, spec = http("GET", d.url("/openapi.json"))
    assert st == 200, (st, spec)
    with open(os.path.join(build_dir(), "openapi.json")) as f:
        assert json.load(f) == spec, "/openapi.json is not the build's openapi.json"
    return spec


def test_routes_match_spec(work):
    routes_file = os.path.join(work.path, "routes.txt")
    sb, d = start(work, {"DEPROV_TEST_ROUTES_FILE": routes_file})
    try:
        if not os.path.exists(routes_file):
            log("deprovd was built without DEPROV_TEST_HOOKS: skipped")
            raise SystemExit(SKIP)
        served = {}
        with open(routes_file) as f:
            for line in f:
                method, path, role = line.split()
                served[(method, path)] = role
        assert served, "the route table is empty"
        described = {}
        for path, item in spec_of(d)["paths"].items():
            for method, op in item.items():
                if method in METHODS:
                    described[(method.upper(), path)] = op.get("x-deprov-role")
        missing = sorted(set(served) - set(described))
        stale = sorted(set(described) - set(served))
        assert not missing, "served but not in docs/openapi.yaml: %s" % (
            ", ".join("%s %s" % r for r in missing))
        assert not stale, "in docs/openapi.yaml but not served: %s" % (
            ", ".join("%s %s" % r for r in stale))
        wrong = ["%s %s: served %s, described %s" % (m, p, served[(m, p)], described[(m, p)])
                 for m, p in sorted(served) if served[(m, p)] != described[(m, p)]]
        assert not wrong, "x-deprov-role differs from the route table: " + "; ".join(wrong)
        log("%d routes, each described with its role" % len(served))
    finally:
        d.stop()
        sb.stop()


def schemathesis_bin():
    exe = os.environ.get("DEPROV_SCHEMATHESIS")
    if exe:
        return exe
    home = os.environ.get("HOME") or os.path.expanduser("~")
    cache = os.environ.get("XDG_CACHE_HOME") or os.path.join(home, ".cache")
    version = open(os.path.join(os.path.dirname(__file__), "..", "..", "deploy",
                                "schemathesis.version")).read().strip()
    return os.path.join(cache, "deprov", "schemathesis-" + version, "bin", "schemathesis")


# CPython 3.11 (before 3.11.8?) can fail inside ast.parse when Hypothesis
# describes a strategy deep in a recursion: Schemathesis reports it as an
# error of its own for that operation, not as an answer of the daemon.
TOOL_BUG = "AST constructor recursion depth mismatch"


def tool_bug_only(report_dir):
    """True when a run's JUnit report has no failure and every error is
    TOOL_BUG: the daemon answered everything it was sent correctly."""
    import glob
    import xml.etree.ElementTree as ET
    errors = failures = 0
    for f in glob.glob(os.path.join(report_dir, "*.xml")):
        for tc in ET.parse(f).iter("testcase"):
            for el in tc:
                if el.tag == "failure":
                    failures += 1
                elif el.tag == "error":
                    text = (el.get("message") or "") + (el.text or "")
                    if TOOL_BUG not in text:
                        errors += 1
                    else:
                        log("%s: Schemathesis hit a CPython bug (%s): not counted" % (
                            tc.get("name"), TOOL_BUG))
    return failures == 0 and errors == 0 and bool(glob.glob(os.path.join(report_dir, "*.xml")))


def test_schemathesis(work):
    exe = schemathesis_bin()
    assert os.access(exe, os.X_OK), "%s: not installed (run deploy/install-deps)" % exe
    sb, d = start(work)
    try:
        # Cases to find: ids 1 and up exist, so generated ids reach real
        # cases, retries and cancels as well as 404s.
        for i in range(1, 4):
            st, body = d.call("POST", "/v1/freeze", {"subject": {"employee_id": "E%04d" % i},
                                                     "reason": "INC-%d" % i},
                              token=RESPONDER_TOKEN)
            assert st == 202, (st, body)
        spec = os.path.join(work.path, "openapi.json")
        with open(spec, "w") as f:
            json.dump(spec_of(d), f)
        seed = os.environ.get("DEPROV_SCHEMATHESIS_SEED", "20240601")
        examples = os.environ.get("DEPROV_SCHEMATHESIS_EXAMPLES", "12")
        failed = []
        for role, token in ROLES:
            t0 = time.time()
            report = os.path.join(work.path, "report-" + role)
            # Every check runs (Schemathesis's default); "--checks all" would
            # also override the per-operation exceptions of the settings.
            cmd = [exe, "--config-file", os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                                      "schemathesis.toml"),
                   "run", spec, "--url", d.url(""),
                   "--phases", "examples,coverage,fuzzing", "--max-examples", examples,
                   "--seed", seed, "--workers", "2", "--request-timeout", "10",
                   "--suppress-health-check", "all", "--no-color",
                   "--report", "junit", "--report-dir", report,
                   "-H", "Authorization: Bearer " + token]
            # In the work directory: Schemathesis keeps a cache where it runs.
            r = subprocess.run(cmd, capture_output=True, timeout=240, cwd=work.path,
                               env=dict(os.environ, SCHEMATHESIS_HOOKS=""))
            out = r.stdout.decode(errors="replace") + r.stderr.decode(errors="replace")
            log("schemathesis as %s: exit %d in %.1f s" % (role, r.returncode, time.time() - t0))
            if r.returncode != 0 and not tool_bug_only(report):
                sys.stdout.write(out[-20000:])
                failed.append(role)
            assert d.proc.poll() is None, "deprovd exited under Schemathesis (%s)" % role
        assert not failed, "Schemathesis found failures as: " + ", ".join(failed)
        st, _ = http("GET", d.url("/healthz"))
        assert st == 200
    finally:
        rc = d.stop()
        sb.stop()
    assert rc == 0, "deprovd exited %s after the run" % rc


def raw(port, data, wait=0.3):
    """Send bytes on one connection; the status lines and headers read back,
    and whether the daemon closed the connection."""
    s = socket.create_connection(("127.0.0.1", port))
    s.sendall(data)
    time.sleep(wait)
    s.settimeout(1)
    got, closed = b"", False
    try:
        while True:
            chunk = s.recv(65536)
            if not chunk:
                closed = True
                break
            got += chunk
    except socket.timeout:
        pass
    s.close()
    return got.decode(errors="replace"), closed


def test_method_not_allowed(work):
    """A route asked with a method it does not take: 405 with Allow (RFC
    9110), OPTIONS and TRACE too (evhttp answered those 501 itself)."""
    sb, d = start(work)
    try:
        for method, path, allow in (("TRACE", "/v1/cases", "GET, HEAD"),
                                    ("OPTIONS", "/healthz", "GET, HEAD"),
                                    ("PUT", "/v1/freeze", "POST"),
                                    ("DELETE", "/v1/hooks/okta", "GET, HEAD, POST"),
                                    ("OPTIONS", "/v1/cases/1", "GET, HEAD"),
                                    ("PUT", "/v1/cases/1/cancel", "POST")):
            got, _ = raw(d.api_port, ("%s %s HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n"
                                      "Content-Length: 0\r\nConnection: close\r\n\r\n" % (method, path, ADMIN_TOKEN)
                                      ).encode())
            assert got.startswith("HTTP/1.1 405 "), (method, path, got)
            assert "\r\nAllow: %s\r\n" % allow in got, (method, path, got)
            assert '"error":"method_not_allowed"' in got, (method, path, got)
    finally:
        d.stop()
        sb.stop()


def test_head_trace_body_closes(work):
    """evhttp reads no body of a HEAD or TRACE request, so one sent anyway was
    read as the connection's next request (a request smuggled inside another
    past a proxy). Such a request is answered as any other and its connection
    closed: the request inside is never answered."""
    sb, d = start(work)
    try:
        inner = b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"
        for method in ("HEAD", "TRACE"):
            for framing in (b"Content-Length: %d\r\n\r\n" % len(inner) + inner,
                            b"Transfer-Encoding: chunked\r\n\r\n%x\r\n" % len(inner) +
                            inner + b"\r\n0\r\n\r\n"):
                got, closed = raw(d.api_port, method.encode() + b" /healthz HTTP/1.1\r\n"
                                  b"Host: x\r\n" + framing)
                assert got.startswith("HTTP/1.1 %s " % ("200" if method == "HEAD" else "405")), (
                    method, got)
                assert got.count("HTTP/1.1 ") == 1, (method, got)
                assert closed, (method, "connection left open")
        # Without a body both are answered as before, on a connection that stays.
        got, closed = raw(d.api_port, b"HEAD /healthz HTTP/1.1\r\nHost: x\r\n\r\n" * 2)
        assert got.count("HTTP/1.1 200 ") == 2 and not closed, got
        # A HEAD answer is headers only, with GET's Content-Length (RFC 9110
        # 9.3.2): a body after them would be read as the next answer.
        body = raw(d.api_port, b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")[0]
        body = body.split("\r\n\r\n", 1)[1]
        for path, status in (("/healthz", 200), ("/v1/cases", 401), ("/nowhere", 404)):
            got, _ = raw(d.api_port, ("HEAD %s HTTP/1.1\r\nHost: x\r\n\r\n" % path).encode())
            head, rest = got.split("\r\n\r\n", 1)
            assert head.startswith("HTTP/1.1 %d " % status), got
            assert rest == "", (path, got)
            assert "\r\nContent-Length: " in head, (path, got)
            if path == "/healthz":
                assert "\r\nContent-Length: %d\r\n" % len(body) in head + "\r\n", (got, body)
    finally:
        d.stop()
        sb.stop()


TESTS = {
    "routes_match_spec": test_routes_match_spec,
    "schemathesis": test_schemathesis,
    "method_not_allowed": test_method_not_allowed,
    "head_trace_body_closes": test_head_trace_body_closes,
}

if __name__ == "__main__":
    main(TESTS)
