#!/usr/bin/env python3
"""Hardening of deprovd's edges (docs/SECURITY.md, "Limits"; docs/OPERATIONS.md):
the admin API under slow clients and at the descriptor limit, strict case ids,
TLS without session tickets, a bounded shutdown when Kafka is gone, the second
signal, and the store's lock against a second daemon. Each test starts its own
deprovd and deprov-sandbox (tests/integration/harness.py).
Run one test: it_harden.py --build DIR NAME."""

import hashlib
import http.client as httpclient
import json
import os
import resource
import signal
import socket
import ssl
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
from harness import (API_TOKEN, Daemon, KafkaMock, Sandbox, build_dir,  # noqa: E402
                     leaver_for, log, publish, run, seed_people, wait_for)


def gen_cert(work):
    cert = os.path.join(work.path, "api-cert.pem")
    key = os.path.join(work.path, "api-key.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key,
                    "-out", cert, "-days", "2", "-subj", "/CN=127.0.0.1",
                    "-addext", "subjectAltName=IP:127.0.0.1"], check=True, capture_output=True)
    return cert, key


def raw_get(port, path, token=API_TOKEN, timeout=10, source=None):
    """GET with http.client (the path goes out byte for byte); (status, body)."""
    conn = httpclient.HTTPConnection("127.0.0.1", port, timeout=timeout,
                                     source_address=(source, 0) if source else None)
    try:
        conn.putrequest("GET", path, skip_accept_encoding=True)
        if token:
            conn.putheader("Authorization", "Bearer " + token)
        conn.endheaders()
        r = conn.getresponse()
        body = r.read()
        return r.status, body
    finally:
        conn.close()


def test_case_ids(work):
    """A case id is 1..2^63-1 in plain decimal digits; anything else is a 400 with a JSON error."""
    sb = Sandbox(work, seed_people(1))
    d = Daemon(work, sb).start()
    try:
        publish(d.bootstrap, [("E0001", leaver_for(1))])
        c = d.wait_case("E0001")
        st, body = raw_get(d.api_port, "/v1/cases/%d" % c["id"])
        assert st == 200 and json.loads(body)["id"] == c["id"], (st, body)
        # Well-formed ids of no case: 404.
        for path in ("/v1/cases/999999", "/v1/cases/9223372036854775807"):
            st, body = raw_get(d.api_port, path)
            assert st == 404 and json.loads(body)["error"] == "not_found", (path, st, body)
        bad = ["99999999999999999999999", "9223372036854775808", "+1", "-1", "%201", "%2B1",
               "1x", "0", "00", "-0", "1%00", "0x10", "1.0", "1e3", "", "%09" + "1"]
        for s in bad:
            for suffix in ("", "/retry"):
                path = "/v1/cases/" + s + suffix
                st, body = raw_get(d.api_port, path)
                assert st == 400, (path, st, body)
                j = json.loads(body)
                assert j["error"] == "bad_request" and j["detail"], (path, j)
        # " 1" cannot be sent in a request line; a raw tab or space splits it: 400 either way.
        s = socket.create_connection(("127.0.0.1", d.api_port), timeout=10)
        s.sendall(b"GET /v1/cases/+1/cancel HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer "
                  + API_TOKEN.encode() + b"\r\nConnection: close\r\n\r\n")
        reply = b""
        while True:
            chunk = s.recv(4096)
            if not chunk:
                break
            reply += chunk
        s.close()
        assert reply.startswith(b"HTTP/1.1 400"), reply[:200]
    finally:
        d.stop()
        sb.stop()


def test_tls_no_tickets(work):
    """TLS 1.2 and 1.3: no session ticket is issued (the session cache is off, so a
    ticket could only be a stateless resumption key kept in memory)."""
    cert, key = gen_cert(work)
    sb = Sandbox(work, seed_people(1))

    def tls(cfg):
        cfg["api"]["tls"] = {"cert_file": cert, "key_file": key}
    d = Daemon(work, sb, extra=tls).start(wait_ready=False)
    try:
        def handshake(version):
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
            ctx.load_verify_locations(cert)
            ctx.minimum_version = ctx.maximum_version = version
            with socket.create_connection(("127.0.0.1", d.api_port), timeout=5) as raw:
                with ctx.wrap_socket(raw, server_hostname="127.0.0.1") as t:
                    t.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                    data = b""
                    while True:
                        chunk = t.recv(4096)
                        if not chunk:
                            break
                        data += chunk
                    sess = t.session
                    return data, t.cipher(), sess

        def up():
            assert d.proc.poll() is None, "deprovd exited: see %s" % d.stderr_path
            try:
                return handshake(ssl.TLSVersion.TLSv1_3)[0].startswith(b"HTTP/1.1 200")
            except OSError:
                return False
        wait_for(up, 30, "https /healthz")
        for v in (ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_3):
            data, cipher, sess = handshake(v)
            assert data.startswith(b"HTTP/1.1 200"), data[:100]
            has = sess is not None and sess.has_ticket
            log("TLS", v.name, cipher, "ticket:", has,
                "lifetime hint:", sess.ticket_lifetime_hint if sess else None)
            assert not has, "%s: the server issued a session ticket" % v.name
            assert "DHE-" not in cipher[0] or "ECDHE-" in cipher[0], cipher
        # openssl s_client agrees: no "TLS session ticket" in the session it saves.
        out = subprocess.run(["openssl", "s_client", "-connect", "127.0.0.1:%d" % d.api_port,
                              "-tls1_2", "-CAfile", cert, "-sess_out",
                              os.path.join(work.path, "sess.pem")],
                             input=b"", capture_output=True, timeout=30)
        text = out.stdout.decode(errors="replace")
        assert "Verify return code: 0" in text, text[-1500:]
        assert "TLS session ticket:" not in text, text[-1500:]
    finally:
        d.stop()
        sb.stop()


def test_store_lock(work):
    """A second deprovd on the same store exits 3 naming the first one's pid; the
    first keeps serving; once it has stopped, the store starts again."""
    sb = Sandbox(work, seed_people(2))
    d = Daemon(work, sb).start()
    try:
        r = subprocess.run([os.path.join(build_dir(), "deprovd"), "--config", d.config],
                           capture_output=True, timeout=60)
        err = r.stderr.decode(errors="replace")
        log("second daemon: exit", r.returncode, err.strip().splitlines()[-1:])
        assert r.returncode == 3, (r.returncode, err[-2000:])
        want = "is in use by deprovd pid %d" % d.proc.pid
        assert want in err, err[-2000:]
        assert d.proc.poll() is None
        st, _ = raw_get(d.api_port, "/healthz", token=None)
        assert st == 200, st
        publish(d.bootstrap, [("E0001", leaver_for(1))])
        d.wait_case("E0001")
        assert d.stop() == 0
        # The lock went with the first daemon: a new one starts on the same store.
        d.start()
        cases = d.cases(subject="E0001")
        assert cases and cases[0]["state"] == "completed", cases
        assert d.stop() == 0
    finally:
        d.stop()
        sb.stop()


TESTS = {f.__name__[5:]: f for f in [
    test_case_ids, test_tls_no_tickets, test_store_lock]}

if __name__ == "__main__":
    names = [a for a in sys.argv[1:] if a in TESTS]
    if not names:
        print("usage: it_harden.py --build DIR NAME...\n  " + "\n  ".join(TESTS))
        sys.exit(2)
    rc = 0
    for n in names:
        rc |= run(TESTS[n])
    sys.exit(rc)
