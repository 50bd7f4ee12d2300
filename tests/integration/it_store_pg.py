"""The PostgreSQL store against a real PostgreSQL server (the ctest fixture
of tests/tools/pg-server; its URL in the file given by --pg-url-file): a
live SQLite store copied with `deprovctl store migrate` and proven equal row
by row with Python's own sqlite3 and psql, the copy's audit trail verified
through `deprovctl audit verify --store`, and every refusal (a database that
already holds a store, foreign tables, a newer schema, a source whose trail
was edited) leaving nothing behind. Each test gets a database of its own."""

import csv
import io
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
import urllib.request
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (  # noqa: E402
    Daemon, Sandbox, RESPONDER_TOKEN, emergency_runbook, leaver_for, main,
    publish, seed_people, standard_runbook, unfreeze_runbook, build_dir, log, wait_for,
    SOURCE_DIR, user_id)

TABLES = ("meta", "cases", "events", "case_keys", "steps", "accounts",
          "timeline", "audit")
# meta keys each store keeps for itself (STORE_META_OWN in src/store-tables.h)
META_OWN = ("('schema', 'replicated_to', 'writer_epoch', 'writer_instance', "
            "'writer_lease_until')")
KEYS = {"meta": "key", "cases": "id", "events": "source, id",
        "case_keys": "key, case_id", "steps": "case_id, target, seq",
        "accounts": "case_id, target", "timeline": "id", "audit": "seq"}


def server_url():
    for i, a in enumerate(sys.argv):
        if a == "--pg-url-file" and i + 1 < len(sys.argv):
            with open(sys.argv[i + 1]) as f:
                return f.read().strip()
    u = os.environ.get("DEPROV_PG_URL")
    if not u:
        raise SystemExit("give --pg-url-file FILE (the pg-server fixture's) or DEPROV_PG_URL")
    return u


def psql(url, sql, check=True):
    r = subprocess.run(["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-tA", "-F", "\t",
                        url, "-c", sql], capture_output=True, text=True, timeout=60)
    if check:
        assert r.returncode == 0, (sql, r.stderr)
    return r


def new_database():
    """A database of this test's own on the fixture's server; its URL."""
    base = server_url()
    name = "t_" + uuid.uuid4().hex[:12]
    psql(base, "CREATE DATABASE %s" % name)
    return base.rsplit("/", 1)[0] + "/" + name


def ctl(*args):
    r = subprocess.run([os.path.join(build_dir(), "deprovctl")] + [str(a) for a in args],
                       capture_output=True, text=True, timeout=120)
    log("deprovctl", " ".join(str(a) for a in args), "->", r.returncode, r.stderr.strip())
    return r


def pg_cols(path, table):
    """The table's columns as SQLite has them: PostgreSQL's copy has its
    own revision column (rev) besides, which is not compared."""
    con = sqlite3.connect("file:%s?mode=ro" % path, uri=True, timeout=10)
    try:
        return ", ".join(r[1] for r in con.execute("PRAGMA table_info(%s)" % table))
    finally:
        con.close()


def sqlite_rows(path, table):
    con = sqlite3.connect("file:%s?mode=ro" % path, uri=True, timeout=10)
    try:
        where = " WHERE key NOT IN %s" % META_OWN if table == "meta" else ""
        return con.execute("SELECT * FROM %s%s ORDER BY %s" % (table, where, KEYS[table])).fetchall()
    finally:
        con.close()


def pg_count(url, table):
    """Rows of a table; meta without the store's own schema version."""
    where = " WHERE key NOT IN %s" % META_OWN if table == "meta" else ""
    return int(psql(url, "SELECT count(*) FROM %s%s" % (table, where)).stdout.strip())


def busy_store(work):
    """A daemon that has run leavers to completion, an emergency freeze
    whose reason holds a tab, a newline, a backslash and non-ASCII text, and
    an unfreeze; it keeps running."""
    sb = Sandbox(work, seed_people(6))
    d = Daemon(work, sb, runbooks=[emergency_runbook(), standard_runbook(),
                                   unfreeze_runbook()]).start()
    publish(d.bootstrap, [("E%04d" % i, leaver_for(i)) for i in range(1, 5)])
    for i in range(1, 5):
        d.wait_case("E%04d" % i, timeout=90)
    reason = "INC-7\ttab\nnew line \\ backslash \u00e9t\u00e9 \u2603"
    st, body = d.call("POST", "/v1/freeze", {"subject": {"email": "emp0005@acme.example"},
                                             "reason": reason}, token=RESPONDER_TOKEN)
    assert st in (200, 201, 202), (st, body)
    cid = body["case_id"]
    # Completed: the daemon is idle, so the rows compared below stay put.
    wait_for(lambda: d.case(cid)["state"] == "completed", 60,
             "the emergency freeze completed")
    return sb, d, reason


def finished_store(work):
    """A store with one leaver completed, its daemon stopped."""
    sb = Sandbox(work, seed_people(2))
    d = Daemon(work, sb).start()
    try:
        publish(d.bootstrap, [("E0001", leaver_for(1))])
        d.wait_case("E0001", timeout=90)
    finally:
        d.stop()
        sb.stop()
    return d


def db_path(d):
    with open(d.config) as f:
        return json.load(f)["store"]["path"]


def test_migrate_live(work):
    """A running daemon's store is copied: every row of every table equals
    the source's (Python's sqlite3 against psql), the reason with tab,
    newline, backslash and non-ASCII survives byte for byte, the id
    sequences continue after the copied ids, the copy's trail verifies
    through deprovctl, and the daemon never noticed."""
    sb, d, reason = busy_store(work)
    url = new_database()
    try:
        path = db_path(d)
        r = ctl("store", "migrate", "--from", "sqlite:" + path, "--to", "postgres:" + url,
                "--json")
        assert r.returncode == 0, (r.stdout, r.stderr)
        out = json.loads(r.stdout)
        assert out["ok"] is True and out["from"] == "sqlite:" + path, out
        assert "@" in out["to"] and "password" not in out["to"], out
        assert out["rows"]["cases"] >= 5 and out["rows"]["audit"] > 20, out
        assert out["audit_records"] == out["rows"]["audit"], out
        # The copy holds what the source held at the snapshot: every table
        # of the copy equals the source's rows up to the copied counts
        # (the daemon may have written more since).
        for t in TABLES:
            n = out["rows"].get(t, 0)
            assert pg_count(url, t) == n, (t, n)
        pg_order = {"cases": "id", "steps": 'case_id, target COLLATE "C", seq',
                    "audit": "seq"}
        for t in ("cases", "steps", "audit"):
            src = sqlite_rows(path, t)[:out["rows"][t]]
            got = psql(url, "COPY (SELECT " + pg_cols(path, t) + " FROM %s ORDER BY %s) "
                       "TO STDOUT WITH (FORMAT csv)"
                       % (t, pg_order[t]))
            rows = list(csv.reader(io.StringIO(got.stdout)))
            assert len(rows) == len(src), (t, len(rows), len(src))
            for a, b in zip(src, rows):
                a = ["" if v is None else str(v) for v in a]
                assert a == b, (t, a, b)
        # The reason, byte for byte.
        got = psql(url, "SELECT reason FROM cases WHERE reason LIKE 'INC-7%'").stdout
        assert got.rstrip("\n") == reason, repr(got)
        # New ids continue after the copied ones.
        top = int(psql(url, "SELECT max(id) FROM cases").stdout)
        nxt = int(psql(url, "SELECT nextval(pg_get_serial_sequence('cases', 'id'))").stdout)
        assert nxt == top + 1, (top, nxt)
        # The trail, verified in PostgreSQL and exported from it.
        r = ctl("audit", "verify", "--store", "postgres:" + url)
        assert r.returncode == 0 and r.stdout.startswith("ok: %d records intact"
                                                         % out["audit_records"]), r.stdout
        assert out["audit_last_hash"] in r.stdout, (r.stdout, out)
        r = ctl("audit", "export", "--store", "postgres:" + url)
        assert r.returncode == 0, r.stderr
        lines = [json.loads(x) for x in r.stdout.splitlines()]
        assert [x["seq"] for x in lines] == list(range(1, out["audit_records"] + 1))
        # The same export from the source, for the copied records.
        r2 = ctl("audit", "export", "--store", "sqlite:" + path)
        src_lines = [json.loads(x) for x in r2.stdout.splitlines()][:len(lines)]
        assert src_lines == lines
        # A second copy into the same database is refused; nothing changes.
        before = pg_count(url, "audit")
        r = ctl("store", "migrate", "--from", "sqlite:" + path, "--to", "postgres:" + url)
        assert r.returncode == 1 and "already holds a deprov store" in r.stderr, r.stderr
        assert pg_count(url, "audit") == before
        # The daemon kept going.
        assert d.proc.poll() is None
        assert d.call("GET", "/readyz")[0] == 200
        # Stopped, copied again into a fresh database for the final cut-over,
        # and started on PostgreSQL: the same store (its id came along), so
        # it goes on where the file stopped.
        d.stop()
        final = new_database()
        r = ctl("store", "migrate", "--from", "sqlite:" + path, "--to", final)
        assert r.returncode == 0, r.stderr
        os.unlink(d.bootstrap_file)
        d = Daemon(work, sb, runbooks=[emergency_runbook(), standard_runbook(),
                                       unfreeze_runbook()], extra=pg_backend(final)).start()
        publish(d.bootstrap, [("E0006", leaver_for(6))])
        d.wait_case("E0006", timeout=90)
        wait_for(lambda: d.call("GET", "/readyz")[1]["postgres"]["backlog"] == 0, 30,
                 "PostgreSQL caught up")
        d.stop()
        assert_same(path, final)
    finally:
        d.stop()
        sb.stop()


def test_migrate_refusals(work):
    """A source whose audit trail was edited is refused and nothing is kept;
    foreign tables of the same names, a newer schema, a bad --to or --from,
    and an unreachable server are refused with a clear message; a password
    given in the URL never appears in what deprovctl prints."""
    d = finished_store(work)
    path = db_path(d)
    con = sqlite3.connect(path)
    con.execute("UPDATE audit SET detail = '{\"edited\":true}' WHERE seq = 3")
    con.commit()
    con.close()
    url = new_database()
    r = ctl("store", "migrate", "--from", "sqlite:" + path, "--to", "postgres:" + url)
    assert r.returncode == 1, (r.stdout, r.stderr)
    assert "audit trail does not verify: seq 3" in r.stderr and "nothing was kept" in r.stderr, \
        r.stderr
    for t in ("cases", "events", "audit", "timeline"):
        assert pg_count(url, t) == 0, t
    # The schema stays (it is made before the copy) and says its version.
    assert psql(url, "SELECT value FROM meta WHERE key = 'schema'").stdout.strip() == "6"

    # Tables named like deprov's that are not a deprov store.
    other = new_database()
    psql(other, "CREATE TABLE cases (x int)")
    r = ctl("store", "migrate", "--from", "sqlite:" + path, "--to", "postgres:" + other)
    assert r.returncode == 1 and "not a deprov store" in r.stderr, r.stderr
    # A store from a newer deprov.
    newer = new_database()
    r = ctl("audit", "verify", "--store", "postgres:" + newer)
    assert r.returncode == 1 and "holds no deprov store" in r.stderr, r.stderr
    psql(newer, "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT);"
                "INSERT INTO meta VALUES ('schema', '99')")
    r = ctl("store", "migrate", "--from", "sqlite:" + path, "--to", "postgres:" + newer)
    assert r.returncode == 1 and "schema version 99, newer" in r.stderr, r.stderr
    # Usage errors.
    r = ctl("store", "migrate", "--from", "postgres:" + url, "--to", "postgres:" + url)
    assert r.returncode == 2 and "--from: expected sqlite:PATH" in r.stderr, r.stderr
    r = ctl("store", "migrate", "--from", "sqlite:" + path, "--to", "sqlite:/tmp/x")
    assert r.returncode == 2 and "--to: expected postgres:URL" in r.stderr, r.stderr
    # Nothing listens there: a bounded failure; the password is not echoed.
    secret = "s3cret-" + uuid.uuid4().hex[:8]
    r = ctl("store", "migrate", "--from", "sqlite:" + path, "--to",
            "postgres:postgresql://deprov:%s@127.0.0.1:1/x?connect_timeout=3" % secret)
    assert r.returncode == 1 and "cannot connect" in r.stderr, r.stderr
    assert secret not in r.stderr + r.stdout


def test_audit_verify_edit_in_pg(work):
    """An edit made in PostgreSQL after the copy is found by audit verify
    --store, naming the record, as for SQLite."""
    d = finished_store(work)
    url = new_database()
    r = ctl("store", "migrate", "--from", "sqlite:" + db_path(d), "--to", url)
    assert r.returncode == 0, r.stderr
    assert "audit trail intact" in r.stdout, r.stdout
    psql(url, "UPDATE audit SET ts_ms = ts_ms + 1 WHERE seq = 4")
    r = ctl("audit", "verify", "--store", "postgres:" + url, "--json")
    assert r.returncode == 1, r.stdout
    out = json.loads(r.stdout)
    assert out["ok"] is False and out["bad_seq"] == 4 and out["problem"] == "edited", out
    psql(url, "DELETE FROM audit WHERE seq = 6")
    r = ctl("audit", "verify", "--store", "postgres:" + url)
    assert r.returncode == 1 and "TAMPERED" in r.stdout, r.stdout


LEASE_MS = 3000     # the tests' writer lease: failovers within seconds


def pg_backend(url, instance=None):
    """A Daemon extra: the postgres backend at url, a short writer lease."""
    def extra(cfg):
        cfg["store"]["backend"] = "postgres"
        cfg["store"]["url"] = url
        cfg["store"]["lease_ms"] = LEASE_MS
        if instance:
            cfg["store"]["instance"] = instance
    return extra


def assert_same(path, url):
    """Every replicated row of the local SQLite store is in PostgreSQL, equal,
    and PostgreSQL has no other (meta: the store's own keys aside)."""
    local_only = ("schema", "replicated_to", "writer_epoch", "writer_instance",
                  "writer_lease_until")
    pg_order = {"meta": 'key COLLATE "C"', "cases": "id",
                "events": 'source COLLATE "C", id COLLATE "C"',
                "case_keys": 'key COLLATE "C", case_id',
                "steps": 'case_id, target COLLATE "C", seq',
                "accounts": 'case_id, target COLLATE "C"', "timeline": "id", "audit": "seq"}
    for t in TABLES:
        src = sqlite_rows(path, t)
        if t == "meta":
            src = [r for r in src if r[0] not in local_only]
        got = psql(url, "COPY (SELECT " + pg_cols(path, t) + " FROM %s%s ORDER BY %s) "
                   "TO STDOUT WITH (FORMAT csv)"
                   % (t, " WHERE key NOT IN %s" % META_OWN if t == "meta" else "",
                      pg_order[t]))
        rows = list(csv.reader(io.StringIO(got.stdout)))
        assert len(rows) == len(src), (t, len(rows), len(src))
        for a, b in zip(src, rows):
            a = ["" if v is None else str(v) for v in a]
            assert a == b, (t, a, b)


def test_backend_postgres(work):
    """deprovd with store.backend "postgres": leavers run to completion with
    every row also in PostgreSQL (checked table by table), /readyz reports
    PostgreSQL; a new host (the local file gone) loads the store from
    PostgreSQL, shows the finished cases and runs a new leaver; a local store
    that is another store than PostgreSQL's is refused at start."""
    url = new_database()
    sb = Sandbox(work, seed_people(6))
    d = Daemon(work, sb, extra=pg_backend(url)).start()
    try:
        publish(d.bootstrap, [("E%04d" % i, leaver_for(i)) for i in range(1, 5)])
        for i in range(1, 5):
            d.wait_case("E%04d" % i, timeout=90)
        st, ready = d.call("GET", "/readyz")
        assert st == 200 and ready["postgres"]["up"] is True, ready
        with urllib.request.urlopen(d.url("/metrics"), timeout=10) as f:
            text = f.read().decode()
        assert "\ndeprov_store_postgres_up 1\n" in text, text[-2000:]
        assert "\ndeprov_store_postgres_backlog " in text
        wait_for(lambda: d.call("GET", "/readyz")[1]["postgres"]["backlog"] == 0, 30,
                 "PostgreSQL caught up")
    finally:
        d.stop()
    path = db_path(d)
    assert_same(path, url)
    assert "replicating to PostgreSQL deprov@" in d.log_text()

    # A new host: the same configuration, no local file.
    os.rename(os.path.dirname(path), os.path.dirname(path) + ".old")
    os.unlink(d.bootstrap_file)     # the new daemon's embedded Kafka writes its own
    d2 = Daemon(work, sb, extra=pg_backend(url)).start()
    try:
        assert "loaded the store from" in d2.log_text()
        cases = d2.cases()
        assert len([c for c in cases if c["state"] == "completed"]) == 4, cases
        publish(d2.bootstrap, [("E0005", leaver_for(5))])
        d2.wait_case("E0005", timeout=90)
        wait_for(lambda: d2.call("GET", "/readyz")[1]["postgres"]["backlog"] == 0, 30,
                 "PostgreSQL caught up")
    finally:
        d2.stop()
    assert_same(path, url)
    r = ctl("audit", "verify", "--store", "postgres:" + url)
    assert r.returncode == 0, r.stdout + r.stderr

    # Another store's local file against this PostgreSQL: refused.
    psql(url, "UPDATE meta SET value = 'someone-else' WHERE key = 'store_id'")
    d3 = Daemon(work, sb, extra=pg_backend(url))
    d3.proc = subprocess.Popen([os.path.join(build_dir(), "deprovd"), "--config", d3.config],
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    _, err = d3.proc.communicate(timeout=60)
    assert d3.proc.returncode != 0 and "holds another deprov store" in err, err
    sb.stop()


def test_backend_postgres_outage(work):
    """PostgreSQL killed after a first wave of leavers: deprovd keeps
    running, reports not ready with the reason although it had nothing to
    send, starts no step for the leavers that come meanwhile (their records
    cannot reach PostgreSQL), and when PostgreSQL is back catches up on its
    own and completes them."""
    pgdir = os.path.join(work.path, "pg")
    r = subprocess.run([os.path.join(SOURCE_DIR, "tests", "tools", "pg-server"), "start",
                        "--dir", pgdir, "--watch-pid", str(os.getpid())],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    url = [l.split("=", 1)[1] for l in r.stdout.splitlines() if l.startswith("PG_URL=")][0]
    tool = os.path.join(SOURCE_DIR, "tests", "tools", "pg-server")
    sb = Sandbox(work, seed_people(40))
    d = Daemon(work, sb, extra=pg_backend(url)).start()
    try:
        publish(d.bootstrap, [("E%04d" % i, leaver_for(i)) for i in range(1, 21)])
        for i in range(1, 21):
            d.wait_case("E%04d" % i, timeout=120)
        # Killed while deprovd has nothing to send: readiness still finds
        # out (the helper asks the server every 2 s when idle).
        subprocess.run([tool, "pause", "--dir", pgdir, "--kill"], check=True, timeout=60)
        wait_for(lambda: d.call("GET", "/readyz")[0] == 503, 30, "not ready without PostgreSQL")
        st, ready = d.call("GET", "/readyz")
        assert ready["postgres"]["up"] is False and ready["postgres"]["error"], ready
        # While it is down, nothing new starts: the leavers published now
        # get cases, but no call about them reaches the target (steps
        # already running when PostgreSQL went may finish their calls).
        publish(d.bootstrap, [("E%04d" % i, leaver_for(i)) for i in range(21, 31)])
        time.sleep(3)
        assert d.proc.poll() is None
        late = [json.dumps(e) for e in sb.log()]
        marks = ["E%04d" % i for i in range(21, 31)] + \
            [user_id(i) for i in range(21, 31)] + \
            ["emp%04d@" % i for i in range(21, 31)]
        seen = [e for e in late if any(m in e for m in marks)]
        assert not seen, seen[:3]
        subprocess.run([tool, "resume", "--dir", pgdir], check=True, timeout=120)
        for i in range(1, 31):
            d.wait_case("E%04d" % i, timeout=120)
        wait_for(lambda: d.call("GET", "/readyz")[0] == 200, 60, "ready again")
        wait_for(lambda: d.call("GET", "/readyz")[1]["postgres"]["backlog"] == 0, 30,
                 "PostgreSQL caught up")
    finally:
        d.stop()
        sb.stop()
        subprocess.run([tool, "stop", "--dir", pgdir], timeout=120)
    # (the server is gone: compare against what it held is done above via
    # the backlog; the copies themselves are compared in test_backend_postgres)


def pg_processes(pgdir):
    """The pids of a pg-server cluster's postmaster and its children."""
    st = dict(l.split("=", 1) for l in open(os.path.join(pgdir, "pg.state")).read().split()
              if "=" in l)
    with open(os.path.join(st["cluster"], "data", "postmaster.pid")) as f:
        pm = int(f.readline())
    kids = subprocess.run(["pgrep", "-P", str(pm)], capture_output=True, text=True).stdout.split()
    return [pm] + [int(k) for k in kids]


def test_backend_postgres_hung_stop(work):
    """PostgreSQL hangs (every server process stopped, its connections open)
    while changes wait to be sent: deprovd still stops on SIGTERM within its
    bound, and the next start, PostgreSQL back, sends what was left."""
    tool = os.path.join(SOURCE_DIR, "tests", "tools", "pg-server")
    pgdir = os.path.join(work.path, "pg")
    r = subprocess.run([tool, "start", "--dir", pgdir, "--watch-pid", str(os.getpid())],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    url = [l.split("=", 1)[1] for l in r.stdout.splitlines() if l.startswith("PG_URL=")][0]
    sb = Sandbox(work, seed_people(10))
    d = Daemon(work, sb, extra=pg_backend(url)).start()
    hung = []
    try:
        publish(d.bootstrap, [("E0001", leaver_for(1))])
        d.wait_case("E0001", timeout=90)
        hung = pg_processes(pgdir)
        for pid in hung:
            os.kill(pid, signal.SIGSTOP)
        publish(d.bootstrap, [("E%04d" % i, leaver_for(i)) for i in range(2, 6)])
        wait_for(lambda: len(d.cases()) >= 5, 30, "cases opened while PostgreSQL hangs")
        time.sleep(1)
        t0 = time.time()
        rc = d.stop(timeout=60)     # raises if it does not stop
        log("stopped %.1f s after SIGTERM with PostgreSQL hung (exit %s)" % (time.time() - t0, rc))
    finally:
        for pid in hung:
            try:
                os.kill(pid, signal.SIGCONT)
            except ProcessLookupError:
                pass
    try:
        os.unlink(d.bootstrap_file)
        d.start()
        for i in range(1, 6):
            d.wait_case("E%04d" % i, timeout=120)
        wait_for(lambda: d.call("GET", "/readyz")[1]["postgres"]["backlog"] == 0, 60,
                 "PostgreSQL caught up")
        d.stop()
        assert_same(db_path(d), url)
    finally:
        d.stop()
        sb.stop()
        subprocess.run([tool, "stop", "--dir", pgdir], timeout=120)


def test_backend_postgres_zombie(work):
    """A deprovd paused (SIGSTOP) past its lease while a standby on another
    host waits: the standby takes the store over from PostgreSQL and runs
    leavers; the old one, continued, is fenced by the writer epoch: it
    writes nothing more to PostgreSQL, calls no target about a leaver it
    receives, says so and exits with status 5. Restarted on its own (now
    stale) copy it is a standby; when the new writer stops cleanly it takes
    the store at once, keeps its stale copy aside and loads PostgreSQL's."""
    url = new_database()
    sb = Sandbox(work, seed_people(6))
    a = Daemon(work, sb, extra=pg_backend(url)).start()
    b = None
    try:
        publish(a.bootstrap, [("E0001", leaver_for(1))])
        a.wait_case("E0001", timeout=90)
        wait_for(lambda: a.call("GET", "/readyz")[1]["postgres"]["backlog"] == 0, 30,
                 "PostgreSQL caught up")
        # A leaver whose case a opens just before it is paused: its steps
        # may be pending then, and must never run from a after the pause.
        publish(a.bootstrap, [("E0003", leaver_for(3))])
        wait_for(lambda: any(c["subject_key"] == "E0003" for c in a.cases()), 30,
                 "a opened a case")
        os.kill(a.proc.pid, signal.SIGSTOP)
        t_stop = time.time()

        # The other host: its own directory, the same PostgreSQL.
        os.makedirs(os.path.join(work.path, "b"), exist_ok=True)

        class WorkB:
            path = os.path.join(work.path, "b")

            def file(self, name, content):
                return work.file(os.path.join("b", name), content)

        b = Daemon(WorkB(), sb, extra=pg_backend(url)).start(wait_ready=False)
        b.wait_ready(timeout=60)
        took = time.time() - t_stop
        log("standby took the store over %.1f s after the writer was paused (lease %d ms)"
            % (took, LEASE_MS))
        assert took >= LEASE_MS / 1000 - 0.5, took    # not before the lease ran out
        # A warm standby: its copy made while it waited, and brought up to
        # date when it took over (not loaded whole then).
        assert "standby: copied the store from" in b.log_text()
        assert "brought the standby's copy up to date" in b.log_text()
        assert "loaded the store from" not in b.log_text()
        assert "took the store over" in b.log_text()
        publish(b.bootstrap, [("E0002", leaver_for(2))])
        b.wait_case("E0002", timeout=90)
        assert psql(url, "SELECT value FROM meta WHERE key = 'writer_epoch'").stdout.strip() == "2"

        # The zombie comes back, with the step of a leaver it had opened
        # just before the pause pending: b is idle now, so any call the
        # sandbox sees from here on would be the zombie's.
        time.sleep(1)
        before = len(sb.log())
        os.kill(a.proc.pid, signal.SIGCONT)
        assert a.proc.wait(30) == 5, "the fenced deprovd exits with status 5"
        time.sleep(1)
        after = sb.log()[before:]
        assert not after, after[:3]
        assert "fenced: another deprovd has taken the store" in a.log_text()
        # The new writer is unaffected.
        assert b.call("GET", "/readyz")[0] == 200

        # The old host restarted on its stale copy: a standby while b holds
        # the store, the writer as soon as b stops cleanly (its lease
        # released), its copy set aside rather than sent over b's work.
        os.unlink(a.bootstrap_file)
        # (no bootstrap file to wait for: a standby starts Kafka only as
        # the writer)
        a.proc = subprocess.Popen([os.path.join(build_dir(), "deprovd"), "--config", a.config],
                                  stdout=a.stderr, stderr=a.stderr)
        wait_for(lambda: "standby (instance" in a.log_text(), 30, "a standby")
        assert a.proc.poll() is None
        assert b.stop() == 0
        t_b = time.time()
        a.wait_ready(timeout=60)
        log("the standby took the store %.1f s after the writer's clean stop" %
            (time.time() - t_b))
        assert time.time() - t_b < LEASE_MS / 1000 + 10
        assert "kept as" in a.log_text() and os.path.exists(db_path(a) + ".behind")
        assert psql(url, "SELECT value FROM meta WHERE key = 'writer_epoch'").stdout.strip() == "3"
        done = {c["subject_key"]: c["state"] for c in a.cases()}
        assert done.get("E0002") == "completed", done
    finally:
        try:
            os.kill(a.proc.pid, signal.SIGCONT)
        except (ProcessLookupError, TypeError):
            pass
        a.stop()
        if b is not None:
            b.stop()
        sb.stop()


TESTS = {
    "migrate_live": test_migrate_live,
    "migrate_refusals": test_migrate_refusals,
    "audit_verify_edit_in_pg": test_audit_verify_edit_in_pg,
    "backend_postgres": test_backend_postgres,
    "backend_postgres_outage": test_backend_postgres_outage,
    "backend_postgres_zombie": test_backend_postgres_zombie,
    "backend_postgres_hung_stop": test_backend_postgres_hung_stop,
}

if __name__ == "__main__":
    main(TESTS, args="--build DIR --pg-url-file FILE")
