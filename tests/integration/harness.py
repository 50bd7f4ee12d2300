"""Integration test harness: starts a real deprov-sandbox and a real deprovd
(with the embedded librdkafka mock cluster) in a private temporary directory,
publishes events with kcat, and asserts on the sandbox's state and request
log and on the daemon's admin API. Python standard library only.

Real Kafka: given --kafka-bootstrap-file FILE (the address of a broker started
by tests/tools/kafka-broker, e.g. the CTest fixture's), the same tests run
against that broker instead of the mock cluster. Each test then gets its own
topics and consumer group (the names the test uses, with a per-test suffix:
kafka_topic()), created before deprovd starts, so that tests can share one
broker; outage tests get a broker of their own (outage_kafka())."""

import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import uuid

API_TOKEN = "viewer-token-for-tests"
RESPONDER_TOKEN = "responder-token-for-tests"
ADMIN_TOKEN = "admin-token-for-tests"
SANDBOX_TOKEN = "sandbox-static-token-0123456789"
CLIENT_ID = "deprov-test-client"
INTEGRATION_USER = "deprov-integration@acme.example"


def build_dir():
    for i, a in enumerate(sys.argv):
        if a == "--build" and i + 1 < len(sys.argv):
            return os.path.abspath(sys.argv[i + 1])
    return os.path.abspath(os.environ.get("DEPROV_BUILD", "build"))


SOURCE_DIR = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


def _arg(name):
    for i, a in enumerate(sys.argv):
        if a == name and i + 1 < len(sys.argv):
            return sys.argv[i + 1]
    return None


def _real_kafka():
    """The real broker's address, or None for the mock cluster. A bootstrap
    file that was asked for but is missing is an error, never a silent
    fallback to the mock."""
    f = _arg("--kafka-bootstrap-file") or os.environ.get("DEPROV_KAFKA_BOOTSTRAP_FILE")
    if not f:
        return None
    try:
        with open(f) as fh:
            b = fh.read().strip()
    except OSError as e:
        raise SystemExit("[it] no real Kafka broker: %s (did the kafka fixture start?)" % e)
    if not b:
        raise SystemExit("[it] no real Kafka broker: %s is empty" % f)
    return b


REAL_KAFKA = _real_kafka()
_kafka_ns = None    # per-test suffix of topic and group names on a real broker


def kafka_topic(name):
    """The topic a test calls `name`: itself on the mock cluster, `name`.<test> on a
    real broker shared with other tests."""
    return "%s.%s" % (name, _kafka_ns) if REAL_KAFKA and _kafka_ns else name


def kafka_admin(bootstrap, *args):
    """deprov-kafka-admin (tests/tools/kafka_admin.c): create topics, read commits."""
    r = subprocess.run([os.path.join(build_dir(), "deprov-kafka-admin"), "-b", bootstrap] +
                       list(args), capture_output=True, timeout=60)
    assert r.returncode == 0, "deprov-kafka-admin %s: %s" % (" ".join(args), r.stderr.decode())
    return r.stdout.decode()


def kafka_create_topics(bootstrap, topics):
    """Create (name, partitions) pairs, names as the test knows them."""
    kafka_admin(bootstrap, "create", *["%s:%d" % (kafka_topic(t), n) for t, n in topics])


def log(*a):
    print("[it]", *a, flush=True)


def free_port():
    import socket
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def http(method, url, body=None, headers=None, timeout=10):
    data = None
    hdrs = dict(headers or {})
    if body is not None:
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        hdrs.setdefault("Content-Type", "application/json")
    req = urllib.request.Request(url, data=data, method=method, headers=hdrs)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            raw = r.read()
            return r.status, (json.loads(raw) if raw.strip() else None)
    except urllib.error.HTTPError as e:
        raw = e.read()
        try:
            return e.code, json.loads(raw)
        except ValueError:
            return e.code, raw.decode(errors="replace")


def wait_for(pred, timeout, what, interval=0.1):
    end = time.time() + timeout
    last = None
    while time.time() < end:
        last = pred()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError("timed out after %ss waiting for %s (last: %r)" % (timeout, what, last))


class Workdir:
    def __init__(self, name):
        self.path = tempfile.mkdtemp(prefix="deprov-it-%s-" % name)

    def file(self, name, content):
        p = os.path.join(self.path, name)
        os.makedirs(os.path.dirname(p), exist_ok=True)
        with open(p, "w") as f:
            f.write(content if isinstance(content, str) else json.dumps(content, indent=1))
        return p

    def cleanup(self):
        shutil.rmtree(self.path, ignore_errors=True)


def gen_rsa(work):
    key = os.path.join(work.path, "sf-key.pem")
    pub = os.path.join(work.path, "sf-pub.pem")
    subprocess.run(["openssl", "genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048",
                    "-out", key], check=True, capture_output=True)
    subprocess.run(["openssl", "pkey", "-in", key, "-pubout", "-out", pub], check=True,
                   capture_output=True)
    return key, pub


class Sandbox:
    def __init__(self, work, seed=None, args=(), public_key=None):
        self.work = work
        self.port_file = os.path.join(work.path, "sandbox.port")
        cmd = [os.path.join(build_dir(), "deprov-sandbox"), "--listen", "127.0.0.1:0",
               "--port-file", self.port_file, "--token", SANDBOX_TOKEN,
               "--client-id", CLIENT_ID, "--quiet"]
        if seed is not None:
            cmd += ["--seed", work.file("seed.json", seed)]
        if public_key:
            cmd += ["--public-key", public_key]
        cmd += list(args)
        self.stderr = open(os.path.join(work.path, "sandbox.stderr"), "w")
        self.proc = subprocess.Popen(cmd, stdout=self.stderr, stderr=self.stderr)
        wait_for(lambda: os.path.exists(self.port_file) and open(self.port_file).read().strip(),
                 10, "sandbox port file")
        self.port = int(open(self.port_file).read().strip())
        self.url = "http://127.0.0.1:%d" % self.port

    def get(self, path):
        st, body = http("GET", self.url + path)
        assert st == 200, (path, st, body)
        return body

    def post(self, path, body):
        st, resp = http("POST", self.url + path, body)
        assert st in (200, 201, 204), (path, st, resp)
        return resp

    def state(self):
        return self.get("/_sandbox/state")

    def user(self, key):
        return self.get("/_sandbox/users/" + key)

    def log(self):
        entries, since = [], 0
        while True:
            page = self.get("/_sandbox/log?since=%d&limit=100000" % since)
            entries += page["entries"]
            if not page["entries"] or page["next"] == since:
                return entries
            since = page["next"]

    def fault(self, rule):
        return self.post("/_sandbox/faults", rule)

    def clear_faults(self):
        st, _ = http("DELETE", self.url + "/_sandbox/faults")
        assert st in (200, 204)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        self.stderr.close()


def emergency_runbook():
    return {"name": "emergency-freeze", "match": {"type": ["io.deprov.freeze"]},
            "sla": {"freeze_within_s": 30, "complete_within_s": 120},
            "retry": {"max_attempts": 10, "initial_backoff_ms": 50, "max_backoff_ms": 500},
            "targets": [{"select": {"name": "*"}, "steps": ["freeze", "revoke_tokens"]}]}


def unfreeze_runbook():
    return {"name": "unfreeze", "match": {"type": ["io.deprov.unfreeze"]},
            "retry": {"max_attempts": 10, "initial_backoff_ms": 50, "max_backoff_ms": 500},
            "targets": [{"select": {"name": "*"}, "steps": ["unfreeze"]}]}


def standard_runbook(max_attempts=10, initial_ms=50, max_ms=1000, objects=None):
    return {
        "name": "standard-leaver",
        "match": {"type": ["io.deprov.leaver"]},
        "sla": {"freeze_within_s": 60, "complete_within_s": 900},
        "retry": {"max_attempts": max_attempts, "initial_backoff_ms": initial_ms,
                  "max_backoff_ms": max_ms},
        "targets": [
            {"select": {"kind": "salesforce"},
             "steps": ["freeze", "revoke_tokens",
                       {"step": "reassign", "to": "manager",
                        "fallback_owner": "records-admin@acme.example",
                        "objects": objects or ["Account", "Opportunity", "Case", "Lead"]},
                       "deactivate"]},
        ],
    }


class Daemon:
    """A deprovd with its own directory, embedded Kafka and admin API."""

    def __init__(self, work, sandbox, runbooks=None, auth=None, limits=None, extra=None,
                 brokers=None):
        self.work = work
        self.api_port = free_port()
        self.bootstrap_file = os.path.join(work.path, "kafka.bootstrap")
        rb_dir = os.path.join(work.path, "runbooks")
        os.makedirs(rb_dir, exist_ok=True)
        for i, rb in enumerate(runbooks or [standard_runbook()]):
            work.file("runbooks/%02d-%s.json" % (i, rb["name"]), rb)
        cfg = {
            "store": {"path": os.path.join(work.path, "var", "deprov.db")},
            "runbooks": rb_dir,
            "log_level": "debug",
            "kafka": {"brokers": brokers or "embedded", "group_id": "deprovd",
                      "topics": ["hr.leavers"], "dlq_topic": "deprov.dlq",
                      **({} if brokers else {"bootstrap_file": self.bootstrap_file}),
                      "properties": {"session.timeout.ms": "6000",
                                     "heartbeat.interval.ms": "500"}},
            "api": {"listen": "127.0.0.1:%d" % self.api_port,
                    "tokens": [{"name": n, "role": r, "sha256": hashlib.sha256(t.encode()).hexdigest()}
                               for n, r, t in (("tests", "viewer", API_TOKEN),
                                               ("soc-oncall", "responder", RESPONDER_TOKEN),
                                               ("ops", "admin", ADMIN_TOKEN))]},
            "targets": {
                "salesforce-prod": {
                    "kind": "salesforce", "base_url": sandbox.url, "api_version": "v60.0",
                    "auth": auth or {"type": "bearer", "token": SANDBOX_TOKEN},
                    "limits": limits or {"rate_per_sec": 500, "burst": 100, "concurrency": 16,
                                         "timeout_ms": 5000, "connect_timeout_ms": 2000,
                                         "limit_backoff_ms": 2000},
                },
            },
        }
        if extra:
            extra(cfg)
        self.topics = []
        if REAL_KAFKA:
            self._real_kafka(cfg)
            brokers = cfg["kafka"]["brokers"]
        self.config = work.file("deprovd.json", cfg)
        self.brokers = brokers
        self.proc = None
        self.stderr_path = os.path.join(work.path, "deprovd.stderr")
        self.stderr = open(self.stderr_path, "a")

    def _real_kafka(self, cfg):
        """Point cfg at the real broker, with this test's own topics and group."""
        k = cfg["kafka"]
        if k["brokers"] == "embedded":
            k["brokers"] = REAL_KAFKA
            k.pop("bootstrap_file", None)
        parts = k.get("partitions", 4)
        topics = k["topics"] if isinstance(k["topics"], list) else [k["topics"]]
        self.topics = [(t, parts) for t in topics]
        k["topics"] = [kafka_topic(t) for t in topics]
        k["group_id"] = kafka_topic(k.get("group_id", "deprovd"))
        if k.get("dlq_topic"):
            self.topics.append((k["dlq_topic"], 1))
            k["dlq_topic"] = kafka_topic(k["dlq_topic"])
        if k.get("audit_topic"):
            self.topics.append((k["audit_topic"], parts))
            k["audit_topic"] = kafka_topic(k["audit_topic"])
        for m in cfg.get("ingest", {}).get("mappings", []):
            m["topic"] = kafka_topic(m["topic"])

    def start(self, wait_ready=True):
        if self.topics:
            kafka_create_topics(self.brokers, self.topics)
            self.topics = []
        self.proc = subprocess.Popen([os.path.join(build_dir(), "deprovd"), "--config", self.config],
                                     stdout=self.stderr, stderr=self.stderr)
        if self.brokers:
            self.bootstrap = self.brokers
        else:
            wait_for(lambda: os.path.exists(self.bootstrap_file) or self.proc.poll() is not None,
                     15, "kafka bootstrap file")
            assert self.proc.poll() is None, "deprovd exited: see %s" % self.stderr_path
            self.bootstrap = open(self.bootstrap_file).read().strip()
        if wait_ready:
            self.wait_ready()
        return self

    def wait_ready(self, timeout=30):
        def ready():
            assert self.proc.poll() is None, "deprovd exited: see %s" % self.stderr_path
            try:
                st, _ = http("GET", self.url("/readyz"), timeout=2)
            except OSError:
                return False
            return st == 200
        wait_for(ready, timeout, "deprovd readiness")

    def url(self, path):
        return "http://127.0.0.1:%d%s" % (self.api_port, path)

    def api(self, path):
        st, body = http("GET", self.url(path), headers={"Authorization": "Bearer " + API_TOKEN})
        assert st == 200, (path, st, body)
        return body

    def call(self, method, path, body=None, token=None, headers=None):
        h = dict(headers or {})
        if token:
            h["Authorization"] = "Bearer " + token
        return http(method, self.url(path), body, headers=h)

    def cases(self, subject=None, state=None):
        q = ["limit=1000"]
        if subject:
            q.append("subject=" + urllib.request.quote(subject))
        if state:
            q.append("state=" + state)
        return self.api("/v1/cases?" + "&".join(q))["cases"]

    def all_cases(self):
        """Every case, following the pages (cases() gives at most 1,000)."""
        out, cur = [], None
        while True:
            b = self.api("/v1/cases?limit=1000" + ("&cursor=" + cur if cur else ""))
            out += b["cases"]
            cur = b.get("next")
            if cur is None:
                return out

    def case(self, cid):
        return self.api("/v1/cases/%d" % cid)

    def wait_case(self, subject, states=("completed",), timeout=60):
        def done():
            try:
                cs = self.cases(subject=subject)
            except OSError:
                assert self.proc.poll() is None, "deprovd exited: see %s" % self.stderr_path
                return None
            return cs[0] if cs and cs[0]["state"] in states else None
        return wait_for(done, timeout, "case of %s in %s" % (subject, states), 0.2)

    def kill9(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def stop(self, timeout=20):
        if self.proc is None or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else None
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise AssertionError("deprovd did not stop within %ss of SIGTERM" % timeout)

    def metric(self, name, **labels):
        """A sample of GET /metrics (labels sorted by name), or None when absent."""
        text = urllib.request.urlopen(self.url("/metrics"), timeout=5).read().decode()
        want = name + ("{" + ",".join('%s="%s"' % kv for kv in sorted(labels.items())) + "}"
                       if labels else "")
        for line in text.splitlines():
            if line.startswith(want + " "):
                return float(line.split()[-1])
        return None

    def log_text(self):
        self.stderr.flush()
        with open(self.stderr_path) as f:
            return f.read()


class KafkaMock:
    """A standalone mock cluster (deprov-kafka-mock) with broker outages on command."""

    def __init__(self, work, topics=("hr.leavers:4", "deprov.dlq:1")):
        self.file = os.path.join(work.path, "mock.bootstrap")
        args = [os.path.join(build_dir(), "deprov-kafka-mock"), "--brokers", "1",
                "--bootstrap-file", self.file]
        for t in topics:
            args += ["--topic", t]
        self.proc = subprocess.Popen(args, stdin=subprocess.PIPE, stderr=subprocess.DEVNULL)
        wait_for(lambda: os.path.exists(self.file), 10, "mock cluster")
        self.bootstrap = open(self.file).read().strip()

    def command(self, line):
        self.proc.stdin.write((line + "\n").encode())
        self.proc.stdin.flush()

    def stop(self):
        if self.proc.poll() is None:
            try:
                self.command("quit")
                self.proc.wait(10)
            except (OSError, subprocess.TimeoutExpired):
                self.proc.kill()


class KafkaBroker:
    """A real broker of the test's own (tests/tools/kafka-broker), with outages on
    command like KafkaMock: "down all" kills it (SIGKILL, an unclean stop), "up
    all" starts it again with its data on the same port. Stopped and removed by
    stop(), or by kafka-broker's watchdog if this process dies first."""

    def __init__(self, work, topics=("hr.leavers:4", "deprov.dlq:1")):
        self.dir = os.path.join(work.path, "kafka")
        out = self._tool("start", "--dir", self.dir, "--watch-pid", str(os.getpid()))
        self.bootstrap = dict(line.split("=", 1) for line in out.split())["KAFKA_BOOTSTRAP"]
        kafka_create_topics(self.bootstrap, [(t.rsplit(":", 1)[0], int(t.rsplit(":", 1)[1]))
                                             for t in topics])

    def _tool(self, *args):
        r = subprocess.run([os.path.join(SOURCE_DIR, "tests", "tools", "kafka-broker")] +
                           list(args), capture_output=True, timeout=180)
        assert r.returncode == 0, "kafka-broker %s: %s" % (args[0], r.stderr.decode())
        return r.stdout.decode()

    def command(self, line):
        if line.startswith("down"):
            self._tool("stop", "--dir", self.dir, "--kill", "--keep")
        elif line.startswith("up"):
            self._tool("restart", "--dir", self.dir, "--watch-pid", str(os.getpid()))
        else:
            raise ValueError(line)

    def stop(self):
        self._tool("stop", "--dir", self.dir)


def outage_kafka(work, topics=("hr.leavers:4", "deprov.dlq:1")):
    """A Kafka cluster a test may take down and bring back: a mock cluster, or a
    real broker of the test's own when running against real Kafka."""
    return KafkaBroker(work, topics) if REAL_KAFKA else KafkaMock(work, topics)


def publish(bootstrap, messages, topic="hr.leavers", headers=None):
    """Publish (key, value) pairs with kcat, one message per line."""
    lines = []
    for key, value in messages:
        v = value if isinstance(value, str) else json.dumps(value, separators=(",", ":"))
        assert "\n" not in v and "\t" not in key
        lines.append("%s\t%s" % (key, v))
    hdr = []
    for k, v in (headers or {}).items():
        hdr += ["-H", "%s=%s" % (k, v)]
    r = subprocess.run(["kcat", "-P", "-b", bootstrap, "-t", kafka_topic(topic), "-K", "\t"] +
                       hdr,
                       input=("\n".join(lines) + "\n").encode(), capture_output=True, timeout=60)
    assert r.returncode == 0, r.stderr.decode()


def consume(bootstrap, topic, fmt="%k\t%h\t%s\n", timeout=20):
    r = subprocess.run(["kcat", "-C", "-b", bootstrap, "-t", kafka_topic(topic), "-e", "-o",
                        "beginning", "-f", fmt], capture_output=True, timeout=timeout)
    return r.stdout.decode(errors="replace")


def gen_cert(work, name="api"):
    """A self-signed certificate for 127.0.0.1 and its key, in the work directory."""
    cert = os.path.join(work.path, name + "-cert.pem")
    key = os.path.join(work.path, name + "-key.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key,
                    "-out", cert, "-days", "2", "-subj", "/CN=127.0.0.1",
                    "-addext", "subjectAltName=IP:127.0.0.1"], check=True, capture_output=True)
    return cert, key


def tls_config(cert, key):
    """A Daemon extra= that serves the API over TLS with cert and key."""
    def edit(cfg):
        cfg["api"]["tls"] = {"cert_file": cert, "key_file": key}
    return edit


def leaver(emp, email, manager_email=None, accounts=None, etype="io.deprov.leaver",
           kind=None, eid=None, effective=None):
    data = {"employee_id": emp, "email": email, "username": email}
    if manager_email:
        data["manager"] = {"employee_id": "M-" + emp, "email": manager_email}
    if accounts:
        data["accounts"] = accounts
    if kind:
        data["termination_kind"] = kind
    if effective:
        data["effective"] = effective
    return {"specversion": "1.0", "id": eid or str(uuid.uuid4()), "source": "/hr/workday",
            "type": etype, "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "subject": emp, "datacontenttype": "application/json", "data": data}


def user_id(n):
    return "005%012dAAA" % n


def seed_people(n, owned=None, tokens=2, prefix="emp", with_manager=True):
    """Leavers emp0001.. (employee ids E0001..) owning `owned` records each,
    their managers boss0001.., a records admin and the integration user.
    Returns the seed; user ids are user_id(i) for leaver i."""
    users, records = [], []
    owned = {"Account": 3, "Opportunity": 2, "Case": 1} if owned is None else owned
    users.append({"Id": user_id(900001), "Username": "records-admin@acme.example",
                  "Email": "records-admin@acme.example", "FederationIdentifier": "ADMIN",
                  "IsActive": True})
    users.append({"Id": user_id(900002), "Username": INTEGRATION_USER, "Email": INTEGRATION_USER,
                  "FederationIdentifier": "INTEGRATION", "IsActive": True})
    for i in range(1, n + 1):
        email = "%s%04d@acme.example" % (prefix, i)
        users.append({"Id": user_id(i), "Username": email, "Email": email,
                      "FederationIdentifier": "E%04d" % i, "IsActive": True, "tokens": tokens})
        if with_manager:
            m = "boss%04d@acme.example" % i
            users.append({"Id": user_id(500000 + i), "Username": m, "Email": m,
                          "FederationIdentifier": "M%04d" % i, "IsActive": True})
        for t, count in owned.items():
            for _ in range(count):
                records.append({"type": t, "OwnerId": user_id(i)})
    return {"users": users, "records": records}


def leaver_for(i, prefix="emp", **kw):
    email = "%s%04d@acme.example" % (prefix, i)
    return leaver("E%04d" % i, email, manager_email=kw.pop("manager", "boss%04d@acme.example" % i),
                  **kw)


def find_user(state, username):
    for u in state["users"]:
        if u["Username"] == username:
            return u
    raise AssertionError("no sandbox user " + username)


def owner_counts(state, uid):
    out = {}
    for t, v in state["records"].items():
        out[t] = v["by_owner"].get(uid, 0)
    return out


def layoff_runbook():
    """The standard leaver of the layoff tests (chaos, cluster): freeze,
    revoke, Accounts to the manager, deactivate; patient retries."""
    return {"name": "standard-leaver", "match": {"type": ["io.deprov.leaver"]},
            "sla": {"freeze_within_s": 600, "complete_within_s": 3600},
            "retry": {"max_attempts": 30, "initial_backoff_ms": 50, "max_backoff_ms": 500},
            "targets": [{"select": {"kind": "salesforce"},
                         "steps": ["freeze", "revoke_tokens",
                                   {"step": "reassign", "to": "manager",
                                    "fallback_owner": "records-admin@acme.example",
                                    "objects": ["Account"]},
                                   "deactivate"]}]}


def check_layoff(d, sb, n, timeout=600):
    """A layoff of leavers 1..n is done: each has exactly one case, all
    completed, and at the sandbox each is frozen and deactivated, tokens
    revoked, nothing left owned. The cases."""
    def all_done():
        try:
            cs = d.all_cases()
        except OSError:
            return None
        return cs if len(cs) >= n and all(c["state"] == "completed" for c in cs) else None
    cases = wait_for(all_done, timeout, "every leaver's case to complete", 1.0)
    per = {}
    for c in cases:
        per.setdefault(c["subject_key"], []).append(c)
    assert len(per) == n, (len(per), n)
    dup = {k: v for k, v in per.items() if len(v) != 1}
    assert not dup, ("more than one case", dup)
    st = sb.state()
    for i in range(1, n + 1):
        u = sb.user(user_id(i))
        assert u["IsFrozen"] is True and u["IsActive"] is False, u
        assert u["tokens"] == 0, u
        left = owner_counts(st, user_id(i))
        assert sum(left.values()) == 0, (i, left)
    return cases


def run(test):
    """Run a test function with a work dir; keep the dir on failure."""
    global _kafka_ns
    name = test.__name__
    work = Workdir(name)
    _kafka_ns = "%s-%s" % (name[5:] if name.startswith("test_") else name, uuid.uuid4().hex[:6])
    ok = False
    try:
        test(work)
        ok = True
        log("PASS", name)
    finally:
        if ok and not os.environ.get("DEPROV_KEEP"):
            work.cleanup()
        else:
            log("work dir kept:", work.path)
            for f in ("deprovd.stderr", "sandbox.stderr"):
                p = os.path.join(work.path, f)
                if os.path.exists(p):
                    with open(p) as fh:
                        tail = fh.readlines()[-60:]
                    log("---- tail of", f)
                    sys.stdout.write("".join(tail))
    return 0 if ok else 1


def main(tests, run_one=run, manual=(), args="--build DIR", check=None):
    """The command line of every it_*.py: `--build DIR NAME...` runs the named
    tests (the exit status of the first that did not pass, else 0);
    `--list` prints the names, one a line: tests/integration/integration.cmake
    asks each file at configure time and adds one ctest per name. Names in
    manual run only when asked for by name and are not listed; args is what
    the usage line shows before the names; check, when given, runs before
    any test and returns an error message or None."""
    if "--list" in sys.argv[1:]:
        for name in tests:
            if name not in manual:
                print(name)
        sys.exit(0)
    names = [a for a in sys.argv[1:] if a in tests]
    if not names:
        print("usage: %s %s NAME... | --list\n  %s" % (
            os.path.basename(sys.argv[0]), args, "\n  ".join(tests)))
        sys.exit(2)
    why = check() if check is not None else None
    if why:
        print(why)
        sys.exit(2)
    rc = 0
    for n in names:
        rc = rc or run_one(tests[n]) or 0
    sys.exit(rc)
