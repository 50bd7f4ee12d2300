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
import threading
import time

sys.path.insert(0, os.path.dirname(__file__))
from harness import (API_TOKEN, Daemon, KafkaMock, Sandbox, build_dir,  # noqa: E402
                     leaver_for, log, publish, main, run, seed_people, wait_for)


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
    d = Daemon(work, sb)
    try:
        d.start()
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
    d = Daemon(work, sb, extra=tls)
    try:
        d.start(wait_ready=False)
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
    d = Daemon(work, sb)
    try:
        d.start()
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


# The documented bound on a stop (docs/OPERATIONS.md), and slack for a loaded machine.
STOP_BOUND_S = 15
STOP_SLACK_S = 5


def kafka_gone_daemon(work, sb):
    """A deprovd on a standalone mock cluster that has processed one leaver; the
    cluster then stops answering: SIGSTOP, like a network partition (its sockets
    stay open and requests wait for their timeouts; deprovd before the fix waited
    for them for minutes). DEPROV_KAFKA_GONE=kill or =down try the other ways
    (connection refused, broker down in the mock). (daemon, cluster)."""
    mock = KafkaMock(work)
    d = Daemon(work, sb, brokers=mock.bootstrap)
    try:
        d.start()
        publish(mock.bootstrap, [("E0001", leaver_for(1))])
        d.wait_case("E0001")
    except BaseException:
        d.stop()
        mock.stop()
        raise
    how = os.environ.get("DEPROV_KAFKA_GONE", "stop")
    if how == "kill":
        mock.proc.kill()
        mock.proc.wait(10)
    elif how == "down":
        mock.command("down all")
    else:
        # A network partition: connections stay open, nothing answers.
        mock.proc.send_signal(signal.SIGSTOP)
    time.sleep(2)
    return d, mock


def resumes_after(work, sb):
    """A new daemon on the same store and a new cluster starts and runs a leaver."""
    os.unlink(os.path.join(work.path, "mock.bootstrap"))
    mock = KafkaMock(work)
    d = Daemon(work, sb, brokers=mock.bootstrap)
    try:
        d.start()
        cases = d.cases(subject="E0001")
        assert cases and cases[0]["state"] == "completed", cases
        publish(mock.bootstrap, [("E0002", leaver_for(2))])
        d.wait_case("E0002")
        assert d.stop() == 0
    finally:
        d.stop()
        mock.stop()


def test_stop_kafka_gone(work):
    """SIGTERM with the brokers gone: the daemon exits 0 within the documented bound
    (the consumer close is given up after its deadline); the next start resumes."""
    sb = Sandbox(work, seed_people(2))
    d = mock = None
    try:
        d, mock = kafka_gone_daemon(work, sb)
        t0 = time.time()
        d.proc.send_signal(signal.SIGTERM)
        try:
            rc = d.proc.wait(STOP_BOUND_S + STOP_SLACK_S)
        except subprocess.TimeoutExpired:
            raise AssertionError("deprovd still running %ds after SIGTERM with Kafka gone"
                                 % (STOP_BOUND_S + STOP_SLACK_S))
        took = time.time() - t0
        log("stopped with Kafka gone in %.1f s, exit %d" % (took, rc))
        assert rc == 0, rc
        text = d.log_text()
        assert "at most 15 s" in text and '"stopped"' in text, text[-3000:]
        resumes_after(work, sb)
    finally:
        if d:
            d.stop()
        if mock:
            mock.stop()
        sb.stop()


def test_second_signal(work):
    """A second SIGTERM while the first stop waits on Kafka exits at once (status 4);
    the store is fine: the next start resumes."""
    sb = Sandbox(work, seed_people(2))
    d = mock = None
    try:
        d, mock = kafka_gone_daemon(work, sb)
        d.proc.send_signal(signal.SIGTERM)
        wait_for(lambda: "stopping intake" in d.log_text(), 10, "the first stop to begin")
        time.sleep(0.5)
        assert d.proc.poll() is None, "stopped before the second signal: the test proves nothing"
        t0 = time.time()
        d.proc.send_signal(signal.SIGTERM)
        try:
            rc = d.proc.wait(STOP_SLACK_S)
        except subprocess.TimeoutExpired:
            raise AssertionError("a second SIGTERM did not make deprovd exit")
        log("second signal: exit %d after %.2f s" % (rc, time.time() - t0))
        assert rc == 4, rc
        assert "second signal: exiting now" in d.log_text()
        resumes_after(work, sb)
    finally:
        if d:
            d.stop()
        if mock:
            mock.stop()
        sb.stop()


def cpu_seconds(pid):
    """utime + stime of a process, in seconds (/proc/PID/stat)."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def cpu_share(pid, seconds):
    """The share of one core the process used over the next `seconds`."""
    c0, t0 = cpu_seconds(pid), time.time()
    time.sleep(seconds)
    return (cpu_seconds(pid) - c0) / (time.time() - t0)


def log_lines(d):
    return d.log_text().count("\n")


class SlowClients:
    """Slow clients on a background thread: `per_source` connections from each
    source address, each sending a request's first line and then one byte of a
    header every `every` seconds, never finishing it. A connection the server
    closes is opened again (at most once per slot and tick: bounded)."""

    PREFIX = b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: "

    def __init__(self, port, sources, per_source, every=0.5):
        self.port, self.every = port, every
        self.slots = [[src, None] for src in sources for _ in range(per_source)]
        self.stop_ev = threading.Event()
        self.connects = self.closed_by_server = self.errors = 0
        self.thread = threading.Thread(target=self.run, daemon=True)

    def open(self, slot):
        s = socket.socket()
        s.setblocking(False)
        try:
            s.bind((slot[0], 0))
            s.connect_ex(("127.0.0.1", self.port))
        except OSError:
            s.close()
            self.errors += 1
            return
        slot[1] = [s, False]
        self.connects += 1

    def tick(self):
        for slot in self.slots:
            if slot[1] is None:
                self.open(slot)
                continue
            s, started = slot[1]
            try:
                if s.recv(4096) == b"":
                    raise ConnectionResetError()
            except BlockingIOError:
                pass
            except OSError:
                s.close()
                slot[1] = None
                self.closed_by_server += 1
                continue
            try:
                s.send(b"a" if started else self.PREFIX)
                slot[1][1] = True
            except BlockingIOError:
                pass    # still connecting (in the backlog)
            except OSError:
                s.close()
                slot[1] = None
                self.closed_by_server += 1

    def run(self):
        while not self.stop_ev.wait(self.every):
            self.tick()

    def start(self):
        self.tick()
        self.thread.start()
        return self

    def stop(self):
        self.stop_ev.set()
        self.thread.join(30)
        for slot in self.slots:
            if slot[1] is not None:
                slot[1][0].close()
                slot[1] = None

    def open_count(self):
        return sum(1 for slot in self.slots if slot[1] is not None)


def limits(max_conns, per_addr, request_ms):
    def edit(cfg):
        cfg["api"].update({"max_connections": max_conns,
                           "max_connections_per_address": per_addr,
                           "request_timeout_ms": request_ms})
    return edit


def test_slow_clients(work):
    """Slow clients (one byte every half second, from several addresses, five times
    the connection cap) against a daemon at a 256-descriptor limit: a fresh client's
    /healthz answers at once, a leaver published meanwhile is processed, the daemon
    stays cool and its log quiet; a trickling request is cut at request_timeout_ms."""
    sb = Sandbox(work, seed_people(2))
    d = Daemon(work, sb, extra=limits(64, 16, 3000))
    attack = None
    try:
        d.start()
        text = d.log_text()
        assert "at most 64 connections, 16 per address" in text, text[-2000:]
        # The descriptor limit the review saw exhausted; the attack exceeds it.
        resource.prlimit(d.proc.pid, resource.RLIMIT_NOFILE, (256, 256))

        # The deadline: a request trickling in is cut after 3 s, whatever it sends.
        s = socket.create_connection(("127.0.0.1", d.api_port), timeout=10,
                                     source_address=("127.0.0.9", 0))
        t0 = time.time()
        s.sendall(SlowClients.PREFIX)
        s.settimeout(0.5)
        closed_after = None
        while time.time() - t0 < 15:
            try:
                if s.recv(4096) == b"":
                    closed_after = time.time() - t0
                    break
            except socket.timeout:
                pass
            except OSError:
                closed_after = time.time() - t0
                break
            try:
                s.send(b"a")
            except OSError:
                closed_after = time.time() - t0
                break
        s.close()
        log("a trickling request was closed after %s s" % closed_after)
        assert closed_after is not None and 2.5 <= closed_after <= 8, closed_after

        # The attack: 8 addresses x 40 connections = 320 (cap 64, 16 per address).
        lines0 = log_lines(d)
        sources = ["127.0.0.%d" % i for i in range(1, 9)]
        attack = SlowClients(d.api_port, sources, 40).start()
        time.sleep(2)
        publish(d.bootstrap, [("E0001", leaver_for(1))])
        worst = 0.0
        for i in range(10):
            t = time.time()
            st, body = raw_get(d.api_port, "/healthz", token=None, timeout=5, source="127.0.0.200")
            worst = max(worst, time.time() - t)
            assert st == 200, (st, body)
        log("/healthz from a fresh address under attack: worst %.3f s" % worst)
        assert worst < 2.0, worst
        # From an attacking address too: its oldest connection makes room.
        def same_address():
            try:
                return raw_get(d.api_port, "/healthz", token=None, timeout=3,
                               source="127.0.0.1")[0] == 200
            except OSError:
                return False
        wait_for(same_address, 10, "/healthz from an attacking address", 0.2)
        share = cpu_share(d.proc.pid, 6)
        log("deprovd CPU under attack: %.1f%% of a core" % (share * 100))

        def processed():
            st, body = raw_get(d.api_port, "/v1/cases?subject=E0001", timeout=5,
                               source="127.0.0.201")
            cases = json.loads(body)["cases"] if st == 200 else []
            return cases and cases[0]["state"] == "completed"
        wait_for(processed, 60, "the leaver published during the attack", 0.5)
        lines = log_lines(d) - lines0
        log("attack: %d connects, %d closed by the server, %d open now, %d log lines"
            % (attack.connects, attack.closed_by_server, attack.open_count(), lines))
        assert attack.closed_by_server > 0
        assert share < 0.30, "deprovd used %.0f%% of a core under attack" % (share * 100)
        assert lines < 1500, lines
        assert "closing its oldest" in d.log_text()
        attack.stop()
        attack = None
        st, _ = raw_get(d.api_port, "/healthz", token=None)
        assert st == 200
        assert d.stop() == 0
    finally:
        if attack:
            attack.stop()
        d.stop()
        sb.stop()


def test_accept_pause(work):
    """At the descriptor limit (max_connections set above it on purpose) accept()
    fails with EMFILE: accepting pauses instead of spinning, the daemon stays cool,
    the log holds a line a second, and /healthz answers again once clients leave."""
    sb = Sandbox(work, seed_people(1))
    d = Daemon(work, sb, extra=limits(1000, 1000, 60000))
    held = []
    try:
        d.start()
        resource.prlimit(d.proc.pid, resource.RLIMIT_NOFILE, (128, 128))
        lines0 = log_lines(d)
        for i in range(200):
            c = socket.socket()
            c.setblocking(False)
            c.connect_ex(("127.0.0.1", d.api_port))
            held.append(c)
        wait_for(lambda: "not accepting for 250 ms" in d.log_text(), 20,
                 "the accept pause at EMFILE")
        share = cpu_share(d.proc.pid, 5)
        lines = log_lines(d) - lines0
        log("at the descriptor limit: CPU %.1f%% of a core, %d log lines" % (share * 100, lines))
        assert share < 0.30, "deprovd used %.0f%% of a core at EMFILE" % (share * 100)
        assert lines < 300, lines
        assert d.proc.poll() is None
        for c in held:
            c.close()
        held = []

        def healthy():
            try:
                return raw_get(d.api_port, "/healthz", token=None, timeout=3)[0] == 200
            except OSError:
                return False
        wait_for(healthy, 30, "/healthz once the clients left", 0.3)
        assert d.stop() == 0
    finally:
        for c in held:
            c.close()
        d.stop()
        sb.stop()


TESTS = {f.__name__[5:]: f for f in [
    test_case_ids, test_tls_no_tickets, test_store_lock, test_stop_kafka_gone,
    test_second_signal, test_slow_clients, test_accept_pause]}

if __name__ == "__main__":
    main(TESTS)
