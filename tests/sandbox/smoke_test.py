#!/usr/bin/env python3
"""smoke_test.py: end-to-end checks of deprov-sandbox against docs/SANDBOX.md.

Usage: smoke_test.py PATH/TO/deprov-sandbox
Needs only python3 (stdlib) and the openssl CLI. Starts its own sandbox on a free port in a temp
dir, exercises every endpoint, the error codes, paging, the JWT flow, token expiry and every
fault mode, then stops it with SIGTERM and checks it exits 0. Exit status 0 = all passed.
"""
import base64
import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse

FAILS = []


def check(cond, what):
    if not cond:
        FAILS.append(what)
        print("FAIL:", what, file=sys.stderr)


class Sandbox:
    def __init__(self, binary, tmp, *args):
        self.port_file = os.path.join(tmp, "port.%d" % time.monotonic_ns())
        self.proc = subprocess.Popen([binary, "--port-file", self.port_file, "--quiet", *args])
        for _ in range(200):
            if os.path.exists(self.port_file):
                break
            time.sleep(0.02)
        with open(self.port_file) as f:
            self.port = int(f.read().strip())

    def req(self, method, path, body=None, headers=None, token="T1", timeout=10):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        h = dict(headers or {})
        if token:
            h["Authorization"] = "Bearer " + token
        if isinstance(body, (dict, list)):
            body = json.dumps(body)
            h.setdefault("Content-Type", "application/json")
        conn.request(method, path, body=body, headers=h)
        r = conn.getresponse()
        data = r.read()
        conn.close()
        try:
            js = json.loads(data) if data else None
        except ValueError:
            js = None
        return r.status, js, r

    def query(self, soql, token="T1", headers=None, version="v60.0"):
        return self.req("GET", "/services/data/%s/query?q=%s" % (version, urllib.parse.quote_plus(soql)),
                        token=token, headers=headers)

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout=10)


def b64url(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def make_jwt(key, sub, iss="deprov-test-client", aud="https://login.salesforce.com", exp_in=120,
             alg="RS256"):
    head = b64url(json.dumps({"alg": alg}).encode())
    claims = b64url(json.dumps({"iss": iss, "sub": sub, "aud": aud,
                                "exp": int(time.time()) + exp_in}).encode())
    signing = (head + "." + claims).encode()
    sig = subprocess.run(["openssl", "dgst", "-sha256", "-sign", key], input=signing,
                         capture_output=True, check=True).stdout
    return head + "." + claims + "." + b64url(sig)


SEED = {
    "users": [
        {"Id": "005000000000001AAA", "Username": "jane.doe@acme.example",
         "Email": "jane.doe@acme.example", "FederationIdentifier": "E12345",
         "IsActive": True, "IsFrozen": False, "tokens": 3},
        {"Username": "integration@acme.example"},
        {"Username": "manager@acme.example", "Email": "shared@acme.example"},
        {"Username": "o'brien@acme.example", "Email": "shared@acme.example", "IsActive": False},
    ],
    "records": [
        {"type": "Account", "Id": "001000000000001AAA", "OwnerId": "005000000000001AAA"},
        {"type": "Case", "Id": "500000000000001AAA", "OwnerId": "005000000000001AAA",
         "fail": "UNABLE_TO_LOCK_ROW"},
    ],
    "generate": [
        {"prefix": "user", "count": 20, "domain": "acme.example", "tokens": 2,
         "owned": {"Account": 10, "Opportunity": 5}},
        {"prefix": "big", "count": 1, "domain": "acme.example", "owned": {"Account": 4500}},
    ],
}


def test_queries(sb):
    st, js, r = sb.query("SELECT Id,IsActive FROM User WHERE Username='jane.doe@acme.example'")
    check(st == 200 and js["totalSize"] == 1 and js["done"] is True, "resolve by Username")
    check(js["records"][0]["Id"] == "005000000000001AAA", "resolved Id")
    check(js["records"][0]["attributes"]["url"] ==
          "/services/data/v60.0/sobjects/User/005000000000001AAA", "attributes.url")
    check(r.getheader("Sforce-Limit-Info", "").startswith("api-usage="), "Sforce-Limit-Info")
    st, js, _ = sb.query("SELECT Id FROM User WHERE FederationIdentifier='E12345'")
    check(st == 200 and js["totalSize"] == 1, "resolve by FederationIdentifier")
    st, js, _ = sb.query("select id from user where email = 'SHARED@acme.example'")
    check(st == 200 and js["totalSize"] == 2, "Email is not unique, keywords/fields any case")
    st, js, _ = sb.query("SELECT Id FROM User WHERE Username = 'o\\'brien@acme.example'")
    check(st == 200 and js["totalSize"] == 1, "escaped quote in literal")
    st, js, _ = sb.query("SELECT Id FROM User WHERE Email='shared@acme.example' AND IsActive=true")
    check(st == 200 and js["totalSize"] == 1, "AND with boolean")
    st, js, _ = sb.query("SELECT Id,IsFrozen FROM UserLogin WHERE UserId='005000000000001'")
    check(st == 200 and js["totalSize"] == 1 and js["records"][0]["Id"].startswith("060"),
          "UserLogin by 15-char UserId")
    st, js, _ = sb.query("SELECT Id,AppName,DeleteToken FROM OauthToken WHERE UserId='005000000000001AAA'")
    check(st == 200 and js["totalSize"] == 3, "OauthToken rows")
    for soql, code in [("SELECT Id FROM Foo", "INVALID_TYPE"),
                       ("SELECT Id, Bogus FROM User", "INVALID_FIELD"),
                       ("SELECT Id FROM User WHERE IsActive='true'", "INVALID_FIELD"),
                       ("SELECT Id FROM User WHERE Username='x", "MALFORMED_QUERY"),
                       ("SELECT Id FROM User WHERE Username='a\\qb'", "MALFORMED_QUERY"),
                       ("SELEKT Id FROM User", "MALFORMED_QUERY"),
                       ("SELECT Id FROM User WHERE Id='abc'", "INVALID_QUERY_FILTER_OPERATOR")]:
        st, js, _ = sb.query(soql)
        check(st == 400 and isinstance(js, list) and js[0]["errorCode"] == code,
              "%s -> %s (got %s %s)" % (soql, code, st, js))
    st, js, _ = sb.query("SELECT Id FROM User LIMIT 2")
    check(st == 200 and js["totalSize"] == 2, "LIMIT")
    # paging: 4500 rows, 2000 a page
    big = sb.req("GET", "/_sandbox/users/big0001", token=None)[1]["Id"]
    st, js, _ = sb.query("SELECT Id FROM Account WHERE OwnerId='%s'" % big)
    pages, ids = 1, [x["Id"] for x in js["records"]]
    check(js["totalSize"] == 4500 and not js["done"] and len(js["records"]) == 2000, "page 1")
    while not js["done"]:
        st, js, _ = sb.req("GET", js["nextRecordsUrl"])
        check(st == 200, "next page")
        pages += 1
        ids += [x["Id"] for x in js["records"]]
    check(pages == 3 and len(set(ids)) == 4500, "3 pages, 4500 distinct rows")
    st, js, _ = sb.query("SELECT Id FROM Account WHERE OwnerId='%s'" % big,
                         headers={"Sforce-Query-Options": "batchSize=500"})
    check(len(js["records"]) == 500 and js["nextRecordsUrl"].endswith("-500"), "batchSize")
    st, js, _ = sb.req("GET", "/services/data/v60.0/query/01g000000000999AAA-2000")
    check(st == 400 and js[0]["errorCode"] == "INVALID_QUERY_LOCATOR", "bad locator")
    st, js, _ = sb.query("SELECT Id FROM User", token="nope")
    check(st == 401 and js == [{"message": "Session expired or invalid",
                               "errorCode": "INVALID_SESSION_ID"}], "401 body")


def test_writes(sb):
    st, _, _ = sb.req("PATCH", "/services/data/v60.0/sobjects/UserLogin/060000000000001AAA",
                      {"IsFrozen": True})
    check(st == 204, "freeze 204")
    st, js, _ = sb.req("PATCH", "/services/data/v60.0/sobjects/UserLogin/060000000000001AAA",
                       {"IsFrozen": True, "UserId": "x"})
    check(st == 400 and js[0]["errorCode"] == "INVALID_FIELD_FOR_INSERT_UPDATE", "other field")
    st, js, _ = sb.req("PATCH", "/services/data/v60.0/sobjects/UserLogin/060000000000999AAA",
                       {"IsFrozen": True})
    check(st == 404 and js[0]["errorCode"] == "NOT_FOUND", "freeze unknown")
    for m in ("POST", "DELETE"):
        st, js, _ = sb.req(m, "/services/data/v60.0/sobjects/UserLogin/060000000000001AAA")
        check(st == 405 and js[0]["errorCode"] == "METHOD_NOT_ALLOWED", "UserLogin %s" % m)
    st, _, _ = sb.req("DELETE", "/services/data/v60.0/sobjects/OauthToken/0CQ000000000001AAA")
    check(st == 405, "OauthToken DELETE 405")
    st, js, _ = sb.req("GET", "/services/data/v60.0/sobjects/User/005000000000999AAA")
    check(st == 404, "GET unknown user")
    u = sb.req("GET", "/_sandbox/users/jane.doe@acme.example", token=None)[1]
    check(u["IsFrozen"] is True, "frozen in state")
    # composite
    u1 = sb.req("GET", "/_sandbox/users/user0001", token=None)[1]["Id"]
    u2 = sb.req("GET", "/_sandbox/users/user0002", token=None)[1]["Id"]
    accs = [x["Id"] for x in sb.query("SELECT Id FROM Account WHERE OwnerId='%s'" % u1)[1]["records"]]
    recs = [{"attributes": {"type": "Account"}, "id": a, "OwnerId": u2} for a in accs[:3]]
    recs += [{"attributes": {"type": "Account"}, "id": "001999999999999AAA", "OwnerId": u2},
             {"attributes": {"type": "Case"}, "id": "500000000000001AAA", "OwnerId": u2},
             {"attributes": {"type": "Account"}, "id": accs[3], "OwnerId": "005000000000004AAA"}]
    st, js, _ = sb.req("PATCH", "/services/data/v60.0/composite/sobjects",
                       {"allOrNone": False, "records": recs})
    check(st == 200 and [x["success"] for x in js] == [True, True, True, False, False, False],
          "composite per-record results")
    check([x["errors"][0]["statusCode"] for x in js[3:]] ==
          ["ENTITY_IS_DELETED", "UNABLE_TO_LOCK_ROW", "INACTIVE_OWNER_OR_USER"], "error codes")
    owned = sb.req("GET", "/_sandbox/users/" + u1, token=None)[1]["owned"]
    check(owned["Account"] == 7, "3 reassigned")
    recs = [{"attributes": {"type": "Account"}, "id": accs[4], "OwnerId": u2},
            {"attributes": {"type": "Account"}, "id": "001999999999999AAA", "OwnerId": u2}]
    st, js, _ = sb.req("PATCH", "/services/data/v60.0/composite/sobjects",
                       {"allOrNone": True, "records": recs})
    check(js[0]["errors"][0]["statusCode"] == "ALL_OR_NONE_OPERATION_ROLLED_BACK", "rolled back")
    check(sb.req("GET", "/_sandbox/users/" + u1, token=None)[1]["owned"]["Account"] == 7,
          "allOrNone changed nothing")
    recs = [{"attributes": {"type": "Account"}, "id": accs[0], "OwnerId": u2}] * 201
    st, js, _ = sb.req("PATCH", "/services/data/v60.0/composite/sobjects",
                       {"allOrNone": False, "records": recs})
    check(st == 400 and js[0]["errorCode"] == "EXCEEDED_ID_LIMIT", "more than 200")
    st, _, _ = sb.req("PATCH", "/services/data/v60.0/sobjects/User/" + u1, {"IsActive": False})
    check(st == 204, "deactivate")
    check(sb.req("GET", "/_sandbox/users/" + u1, token=None)[1]["IsActive"] is False, "inactive")
    # log
    log = sb.req("GET", "/_sandbox/log?since=0", token=None)[1]
    acts = [e["action"] for e in log["entries"]]
    for a in ("query", "freeze", "reassign", "deactivate", "read"):
        check(a in acts, "log has %s" % a)
    re = [e for e in log["entries"] if e["action"] == "reassign"][0]
    check(re["user"] == u1 and re["count"] == 6, "reassign log user/count")
    nxt = log["next"]
    st, js, _ = sb.req("GET", "/_sandbox/log?since=%d&limit=5" % nxt, token=None)
    check(js["entries"] == [] and js["next"] == nxt, "log since next")


def test_oauth(sb, key):
    def token(assertion, grant="urn:ietf:params:oauth:grant-type:jwt-bearer"):
        body = urllib.parse.urlencode({"grant_type": grant, "assertion": assertion})
        return sb.req("POST", "/services/oauth2/token", body, token=None,
                      headers={"Content-Type": "application/x-www-form-urlencoded"})
    st, js, _ = token(make_jwt(key, "integration@acme.example"))
    check(st == 200 and js["token_type"] == "Bearer" and js["instance_url"].startswith("http://"),
          "token issued")
    at = js["access_token"]
    check(sb.query("SELECT Id FROM User LIMIT 1", token=at)[0] == 200, "issued token works")
    for jwt, err in [(make_jwt(key, "integration@acme.example", iss="x"), "invalid_client_id"),
                     (make_jwt(key, "integration@acme.example", aud="x"), "invalid_grant"),
                     (make_jwt(key, "integration@acme.example", exp_in=-5), "invalid_grant"),
                     (make_jwt(key, "integration@acme.example", exp_in=400), "invalid_grant"),
                     (make_jwt(key, "nobody@acme.example"), "invalid_grant"),
                     (make_jwt(key, "o'brien@acme.example"), "invalid_grant"),
                     ("a.b.c", "invalid_grant")]:
        st, js, _ = token(jwt)
        check(st == 400 and js["error"] == err, "jwt -> %s (got %s)" % (err, js))
    st, js, _ = token("x", grant="password")
    check(st == 400 and js["error"] == "unsupported_grant_type", "grant type")
    time.sleep(2.1)  # --token-ttl 2
    check(sb.query("SELECT Id FROM User LIMIT 1", token=at)[0] == 401, "token expired")
    dts = sb.query("SELECT Id,DeleteToken FROM OauthToken WHERE UserId='005000000000001AAA'")[1]
    dt = dts["records"][0]["DeleteToken"]
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    st, _, _ = sb.req("POST", "/services/oauth2/revoke", "token=" + urllib.parse.quote(dt),
                      token=None, headers=form)
    check(st == 200, "revoke 200")
    st, js, _ = sb.req("POST", "/services/oauth2/revoke", "token=" + urllib.parse.quote(dt),
                       token=None, headers=form)
    check(st == 400 and js == {"error": "invalid_token", "error_description": "invalid token"},
          "revoke again")
    st, js, _ = sb.req("POST", "/services/oauth2/revoke", "x=1", token=None, headers=form)
    check(st == 400 and js["error"] == "unsupported_token_type", "revoke without token")
    check(sb.query("SELECT Id FROM OauthToken WHERE UserId='005000000000001AAA'")[1]["totalSize"]
          == 2, "token row gone")


def raw(sb, data, timeout):
    """Send raw bytes; return what came back or the exception name."""
    s = socket.create_connection(("127.0.0.1", sb.port), timeout=timeout)
    try:
        s.sendall(data)
        got = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                return got or "eof"
            got += chunk
    except socket.timeout:
        return "timeout"
    except ConnectionResetError:
        return "reset"
    finally:
        s.close()


def test_faults(sb):
    lim = "/services/data/v60.0/limits"
    sb.req("POST", "/_sandbox/faults", {"path": lim, "status": 503, "count": 2}, token=None)
    codes = [sb.req("GET", lim)[0] for _ in range(3)]
    check(codes == [503, 503, 200], "status count=2 (%s)" % codes)
    st, js, r = sb.req("GET", "/_sandbox/faults", token=None)
    check(js["rules"][0]["count"] == 0, "rule spent")
    sb.req("DELETE", "/_sandbox/faults", token=None)
    sb.req("POST", "/_sandbox/faults", {"path": lim, "status": 403}, token=None)
    st, js, _ = sb.req("GET", lim)
    check(st == 403 and js[0]["errorCode"] == "REQUEST_LIMIT_EXCEEDED", "403 default body")
    sb.req("DELETE", "/_sandbox/faults", token=None)
    sb.req("POST", "/_sandbox/faults", {"path": lim, "rate": 0.3, "status": 502}, token=None)
    n = sum(sb.req("GET", lim)[0] == 502 for _ in range(300))
    check(40 < n < 140, "rate 0.3 (%d/300)" % n)
    sb.req("DELETE", "/_sandbox/faults", token=None)
    sb.req("POST", "/_sandbox/faults", {"path": lim, "mode": "latency", "latency_ms": 300,
                                        "count": 1}, token=None)
    t0 = time.monotonic()
    st = sb.req("GET", lim)[0]
    check(st == 200 and time.monotonic() - t0 >= 0.29, "latency")
    sb.req("POST", "/_sandbox/faults", {"path": lim, "mode": "timeout", "count": 1}, token=None)
    got = raw(sb, b"GET " + lim.encode() + b" HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer T1\r\n\r\n", 0.5)
    check(got == "timeout", "timeout mode holds (%r)" % (got,))
    sb.req("POST", "/_sandbox/faults", {"path": lim, "mode": "reset", "count": 1}, token=None)
    got = raw(sb, b"GET " + lim.encode() + b" HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer T1\r\n\r\n", 5)
    check(got in ("reset", "eof"), "reset mode (%r)" % (got,))
    check(sb.req("GET", lim)[0] == 200, "answers after reset")
    sb.req("POST", "/_sandbox/faults", {"path": lim, "mode": "rate_limit", "rps": 5}, token=None)
    codes = [sb.req("GET", lim)[0] for _ in range(12)]
    check(codes.count(429) >= 6, "rate_limit (%s)" % codes)
    sb.req("DELETE", "/_sandbox/faults", token=None)
    log = sb.req("GET", "/_sandbox/log", token=None)[1]["entries"]
    faults = {e["fault"] for e in log if e["fault"]}
    check(faults >= {"status", "latency", "timeout", "reset", "rate_limit"}, "faults logged %s" % faults)
    sb.req("POST", "/_sandbox/reset", token=None)
    st, js, _ = sb.req("GET", "/_sandbox/state", token=None)
    check(js["users"] == [] and js["api_usage"] == 0, "reset empties the org")


def main():
    binary = sys.argv[1]
    with tempfile.TemporaryDirectory() as tmp:
        key = os.path.join(tmp, "key.pem")
        pub = os.path.join(tmp, "pub.pem")
        seed = os.path.join(tmp, "seed.json")
        subprocess.run(["openssl", "genpkey", "-algorithm", "RSA", "-out", key], check=True,
                       capture_output=True)
        subprocess.run(["openssl", "pkey", "-in", key, "-pubout", "-out", pub], check=True)
        with open(seed, "w") as f:
            json.dump(SEED, f)
        sb = Sandbox(binary, tmp, "--seed", seed, "--token", "T1", "--public-key", pub,
                     "--token-ttl", "2", "--log-file", os.path.join(tmp, "log.jsonl"))
        try:
            test_queries(sb)
            test_writes(sb)
            test_oauth(sb, key)
            test_faults(sb)
            # a held request must not get in the way of a clean stop
            sb.req("POST", "/_sandbox/faults", {"mode": "timeout"}, token=None)
            held = socket.create_connection(("127.0.0.1", sb.port))
            held.sendall(b"GET /services/data/v60.0/limits HTTP/1.1\r\nHost: x\r\n\r\n")
            time.sleep(0.2)
        finally:
            rc = sb.stop()
        check(rc == 0, "exit 0 on SIGTERM (got %s)" % rc)
        with open(os.path.join(tmp, "log.jsonl")) as f:
            check(len([json.loads(x) for x in f]) > 50, "--log-file lines")
    print("smoke_test: %s" % ("FAILED (%d)" % len(FAILS) if FAILS else "ok"))
    return 1 if FAILS else 0


if __name__ == "__main__":
    sys.exit(main())
