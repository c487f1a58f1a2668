#!/usr/bin/env python3
# oauth2cc: OAuth 2.0 client-credentials tokens for C++17 machine clients.
# agent_test.py: oauth2cc-agent against real parts: oidc-provider (two: one whose tokens
# live an hour, one whose tokens live a few seconds and which the test kills), the example
# API behind Debian's nginx (auth_request) and HAProxy (Lua), each run with the
# configuration docs/agent.md gives. Every server binds 127.0.0.1 and is stopped by PID.
# Every wait is on an event (a line, a file, an answer) and bounded.
# SPDX-License-Identifier: MIT
#
# Usage: agent_test.py --agent BIN --resource-server BIN [--work DIR]

import argparse
import concurrent.futures
import json
import os
import pwd
import re
import shutil
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FAILURES = []
CHECKS = 0


def check(ok, what):
    global CHECKS
    CHECKS += 1
    print(("ok   " if ok else "FAIL ") + what, flush=True)
    if not ok:
        FAILURES.append(what)
    return ok


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Processes:
    """The servers the test starts, stopped by PID at the end."""

    def __init__(self, work):
        self.work = work
        self.procs = []

    def start(self, name, cmd, env=None, first_line=True):
        out = open(self.work / f"{name}.out", "w")
        err = open(self.work / f"{name}.err", "w")
        p = subprocess.Popen([str(c) for c in cmd], stdout=subprocess.PIPE if first_line else out,
                             stderr=err, stdin=subprocess.DEVNULL,
                             env=dict(os.environ, **(env or {})), start_new_session=True)
        self.procs.append((name, p))
        if not first_line:
            return p, None
        line = p.stdout.readline().decode()
        if not line:
            raise RuntimeError(f"{name} printed nothing; see {self.work / (name + '.err')}")
        return p, json.loads(line)

    def stop(self, p, sig=signal.SIGTERM):
        if p.poll() is None:
            p.send_signal(sig)
            try:
                p.wait(20)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait(20)

    def stop_all(self):
        for _, p in reversed(self.procs):
            self.stop(p)


def unix_get(path, target, headers=None, timeout=10):
    """(status, headers dict in lower case, body) of a GET on a UNIX socket."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(timeout)
    s.connect(str(path))
    lines = [f"GET {target} HTTP/1.1", "Host: agent"]
    lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
    s.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
    data = b""
    while True:
        chunk = s.recv(65536)
        if not chunk:
            break
        data += chunk
    s.close()
    head, _, body = data.partition(b"\r\n\r\n")
    head_lines = head.decode().split("\r\n")
    status = int(head_lines[0].split()[1])
    hdrs = {}
    for line in head_lines[1:]:
        k, _, v = line.partition(":")
        hdrs[k.strip().lower()] = v.strip()
    return status, hdrs, body.decode()


def http_get(url, headers=None, timeout=15):
    req = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def as_stats(issuer):
    with urllib.request.urlopen(issuer + "/_harness/stats", timeout=10) as r:
        return json.loads(r.read())


def as_reset(issuer):
    urllib.request.urlopen(urllib.request.Request(issuer + "/_harness/reset", method="POST",
                                                  data=b""), timeout=10).read()


def wait_for(predicate, what, seconds=30.0):
    """Polls predicate until true; bounded."""
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(0.05)
    check(False, f"waited {seconds} s for {what}")
    return False


def doc_block(language):
    """The first ```language block of docs/agent.md: the configurations the docs give."""
    text = (ROOT / "docs/agent.md").read_text()
    m = re.search(r"^```" + language + r"\n(.*?)^```$", text, re.S | re.M)
    if not m:
        raise RuntimeError(f"docs/agent.md has no {language} block")
    return m.group(1)


def log_lines(path):
    out = []
    for line in Path(path).read_text().splitlines():
        try:
            out.append(json.loads(line))
        except json.JSONDecodeError:
            out.append({"unparsed": line})
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--agent", required=True)
    ap.add_argument("--resource-server", required=True)
    ap.add_argument("--work")
    args = ap.parse_args()
    for tool in ("nginx", "haproxy", "node"):
        if shutil.which(tool) is None and not Path(f"/usr/sbin/{tool}").exists():
            print(f"agent test: {tool} is missing (tools/bootstrap installs it)", file=sys.stderr)
            return 1
    work = Path(args.work or tempfile.mkdtemp(prefix="oauth2cc-agent-"))
    if work.exists():
        shutil.rmtree(work)
    work.mkdir(parents=True)
    os.chmod(work, 0o755)
    procs = Processes(work)
    try:
        run(args, work, procs)
    finally:
        procs.stop_all()
    print(f"agent test: {CHECKS - len(FAILURES)} of {CHECKS} checks passed")
    for f in FAILURES:
        print(f"  failed: {f}")
    return 1 if FAILURES else 0


def run(args, work, procs):
    node = shutil.which("node")
    oidc = ROOT / "tests/peers/oidc-provider/server.mjs"
    _, as1 = procs.start("as-hour", [node, oidc, "--ttl", "3600"])
    as2_proc, as2 = procs.start("as-short", [node, oidc, "--ttl", "6", "--port", "0"])
    secrets = {}
    for client, value in (("basic-client", "basic-secret"), ("dpop-client", "dpop-secret"),
                          ("resource-server", "resource-server-secret"),
                          ("read-client", "read-secret")):
        f = work / f"{client}.secret"
        f.write_text(value)
        os.chmod(f, 0o600)
        secrets[client] = f

    # The example API twice, each checking DPoP proofs for the origin its gateway serves.
    nginx_port, haproxy_port = free_port(), free_port()
    api_env = {"OAUTH2_INTROSPECTION_URL": as1["introspection_endpoint"],
               "OAUTH2_CLIENT_ID": "resource-server",
               "OAUTH2_CLIENT_SECRET_FILE": str(secrets["resource-server"])}
    _, api1 = procs.start("api-nginx", [args.resource_server, "--origin",
                                        f"http://127.0.0.1:{nginx_port}"], api_env)
    _, api2 = procs.start("api-haproxy", [args.resource_server, "--origin",
                                          f"http://127.0.0.1:{haproxy_port}"], api_env)

    # The agent: the profile `reports` (Bearer first), `short` on the authorization server
    # whose tokens live 6 s, a UNIX socket and a TCP listener, sinks.
    sock = work / "agent.sock"
    tcp_port = free_port()
    access = work / "access-token"
    access.write_text("a" * 8 + "0123456789abcdef0123456789abcdef")
    os.chmod(access, 0o600)
    root = os.geteuid() == 0
    nginx_uid = pwd.getpwnam("www-data").pw_uid if root else os.geteuid()

    def config(reports_dpop):
        reports = {"token_url": as1["token_endpoint"], "client_id": "basic-client",
                   "client_secret_file": str(secrets["basic-client"]), "scope": "read_date"}
        if reports_dpop:
            reports.update({"client_id": "dpop-client", "dpop": "1",
                            "client_secret_file": str(secrets["dpop-client"])})
        return {"listen": [f"unix:{sock}", f"127.0.0.1:{tcp_port}"],
                "access_token_file": "access-token",
                "allow_uids": [nginx_uid],
                "profiles": {
                    "reports": reports,
                    "files": {"token_url": as1["token_endpoint"], "client_id": "read-client",
                              "client_secret_file": "read-client.secret", "scope": "read_date"},
                    "short": {"token_url": as2["token_endpoint"], "client_id": "basic-client",
                              "client_secret_file": "basic-client.secret", "scope": "read_date"}},
                "sinks": [{"profile": "files", "path": "sink/files.token", "format": "raw"},
                          {"profile": "short", "path": "sink/short.json", "format": "json"}]}

    (work / "sink").mkdir()
    agent_json = work / "agent.json"
    agent_json.write_text(json.dumps(config(False), indent=2))
    check_configs(args.agent, work, config(False))

    agent_log = work / "agent.err"
    agent = subprocess.Popen([args.agent, "--config", agent_json], stdin=subprocess.DEVNULL,
                             stdout=open(work / "agent.out", "w"), stderr=open(agent_log, "w"),
                             start_new_session=True)
    procs.procs.append(("agent", agent))
    wait_for(lambda: sock.exists(), "the agent's socket")
    check(stat.S_IMODE(os.stat(sock).st_mode) == 0o666, "the socket is mode 0666")

    # nginx with the docs' configuration.
    nginx_dir = work / "nginx"
    for d in ("body", "proxy", "fastcgi", "uwsgi", "scgi"):
        (nginx_dir / d).mkdir(parents=True)
    os.chmod(nginx_dir, 0o777)
    block = (doc_block("nginx")
             .replace("/run/oauth2cc-agent/agent.sock", str(sock))
             .replace("127.0.0.1:8080", f"127.0.0.1:{nginx_port}")
             .replace("127.0.0.1:9000", f"127.0.0.1:{api1['port']}"))
    temp = "".join(f"    {name}_temp_path {nginx_dir / d};\n" for name, d in
                   (("client_body", "body"), ("proxy", "proxy"), ("fastcgi", "fastcgi"),
                    ("uwsgi", "uwsgi"), ("scgi", "scgi")))
    (nginx_dir / "nginx.conf").write_text(
        ("user www-data;\n" if root else "") +
        f"daemon off;\nworker_processes 2;\npid {nginx_dir / 'nginx.pid'};\n"
        f"error_log {nginx_dir / 'error.log'} warn;\nevents {{ worker_connections 512; }}\n"
        f"http {{\n    access_log {nginx_dir / 'access.log'};\n{temp}{block}}}\n")
    nginx = subprocess.Popen(["nginx", "-p", nginx_dir, "-c", nginx_dir / "nginx.conf"],
                             stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                             stderr=open(work / "nginx.err", "w"), start_new_session=True)
    procs.procs.append(("nginx", nginx))

    # HAProxy with the docs' configuration and Lua script.
    lua = work / "oauth2cc-agent.lua"
    lua.write_text(doc_block("lua").replace("/run/oauth2cc-agent/agent.sock", str(sock)))
    (work / "haproxy.cfg").write_text(
        doc_block("haproxy")
        .replace("/etc/haproxy/oauth2cc-agent.lua", str(lua))
        .replace("127.0.0.1:8081", f"127.0.0.1:{haproxy_port}")
        .replace("127.0.0.1:9000", f"127.0.0.1:{api2['port']}")
        # The example API (cpp-httplib) gives a keep-alive connection a thread until it
        # idles out: HAProxy closes each, so that 50 at once do not queue behind them.
        + "    option http-server-close\n")
    haproxy = subprocess.Popen(["haproxy", "-db", "-f", work / "haproxy.cfg"],
                               stdin=subprocess.DEVNULL, stdout=open(work / "haproxy.out", "w"),
                               stderr=open(work / "haproxy.err", "w"), start_new_session=True)
    procs.procs.append(("haproxy", haproxy))

    def port_open(port):
        try:
            socket.create_connection(("127.0.0.1", port), 0.5).close()
            return True
        except OSError:
            return False

    wait_for(lambda: port_open(nginx_port), "nginx to listen")
    wait_for(lambda: port_open(haproxy_port), "HAProxy to listen")
    # The sinks' profiles have their tokens: what follows counts the requests of `reports`.
    wait_for(lambda: (work / "sink/files.token").exists() and (work / "sink/short.json").exists(),
             "the sinks' first tokens")
    via_nginx = f"http://127.0.0.1:{nginx_port}/api/date"
    via_haproxy = f"http://127.0.0.1:{haproxy_port}/api/date"

    def profile_requests(name):
        """The token requests the profile made since it was loaded, from /metrics."""
        text = unix_get(sock, "/metrics")[2]
        prefix = f'oauth2cc_token_requests_total{{profile="{name}"'
        return sum(int(float(line.rsplit(" ", 1)[1])) for line in text.splitlines()
                   if line.startswith(prefix))

    def fifty_at_once(url, what):
        as_reset(as1["issuer"])
        with concurrent.futures.ThreadPoolExecutor(50) as pool:
            answers = list(pool.map(lambda _: http_get(url), range(50)))
        ok = [s for s, _ in answers if s == 200]
        check(len(ok) == 50, f"{what}: 50 concurrent requests, {len(ok)} answered 200 by the API "
                             f"(others: {sorted(set(s for s, _ in answers if s != 200))})")
        return as_stats(as1["issuer"])["token_requests"]

    def both_gateways(scheme):
        """50 at once through nginx, then through HAProxy: the profile's one token (made
        when the profile was loaded) serves them all; no request reaches the server."""
        n = fifty_at_once(via_nginx, f"{scheme} via nginx")
        made = profile_requests("reports")
        check(n == 0 and made == 1, f"{scheme} via nginx: 1 token request in all for the "
                                    f"profile (it made {made}, {n} during the 50)")
        n = fifty_at_once(via_haproxy, f"{scheme} via HAProxy")
        check(n == 0, f"{scheme} via HAProxy: the same token, no new request (saw {n})")

    # Bearer through nginx: the profile's one token (the agent asks for it when the
    # profile is loaded) serves all 50; the authorization server sees no other request.
    both_gateways("Bearer")

    threads = len(os.listdir(f"/proc/{agent.pid}/task"))
    check(threads <= 9, f"the agent runs {threads} threads: at most 8 beyond the listener's")

    # /v1/token answers, and the sink holds the same token.
    status, _, body = unix_get(sock, "/v1/token/reports")
    answer = json.loads(body)
    check(status == 200 and answer["token_type"] == "Bearer" and answer["expires_in"] >= 3500,
          "/v1/token/reports answers the Bearer token with expires_in")
    sink = work / "sink/files.token"
    status, _, body = unix_get(sock, "/v1/token/files")
    check(status == 200 and sink.read_text() == json.loads(body)["access_token"],
          "the raw sink holds its profile's token")
    check(stat.S_IMODE(os.stat(sink).st_mode) == 0o600, "the sink file is mode 0600")
    check(not [p for p in (work / "sink").iterdir() if ".token." in p.name or ".json." in p.name],
          "no temporary file is left beside the sinks")
    status, _, body = unix_get(sock, "/v1/token/reports?audience=https%3A%2F%2Fa.example&min_valid=10")
    check(status == 200 and json.loads(body)["access_token"] != answer["access_token"],
          "a keyed entry (audience) answers its own token")
    status, _, body = unix_get(sock, "/v1/token/reports?min_valid=7200")
    check(status == 503 and json.loads(body)["error"] == "temporarily_unavailable",
          "min_valid beyond the token's lifetime: 503")
    status, _, _ = unix_get(sock, "/v1/token/nobody")
    check(status == 404, "an unknown profile: 404")
    status, _, _ = unix_get(sock, "/v1/token/reports?color=red")
    check(status == 400, "an unknown query member: 400")

    # Callers: TCP needs the access token; another uid is refused on the socket.
    tcp = f"http://127.0.0.1:{tcp_port}/v1/token/reports"
    check(http_get(tcp)[0] == 401, "TCP without the access token: 401")
    check(http_get(tcp, {"Authorization": "Bearer wrong"})[0] == 401, "TCP with a wrong token: 401")
    status, body = http_get(tcp, {"Authorization": "Bearer " + access.read_text()})
    check(status == 200 and json.loads(body)["access_token"] == answer["access_token"],
          "TCP with the access token: 200")
    if root:
        probe = ("import socket,sys;s=socket.socket(socket.AF_UNIX);s.connect(sys.argv[1]);"
                 "s.sendall(b'GET /v1/token/reports HTTP/1.1\\r\\nHost: a\\r\\n\\r\\n');"
                 "print(s.recv(4096).decode().split()[1])")
        out = subprocess.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
                              sys.executable, "-c", probe, str(sock)],
                             capture_output=True, text=True, timeout=30)
        check(out.stdout.strip() == "403", f"a caller of another uid (65534): 403 (saw "
                                           f"{out.stdout.strip() or out.stderr.strip()[-200:]})")
    else:
        print("skip a caller of another uid: the test runs as root in CI to switch uids")

    # Metrics, per profile.
    status, _, body = unix_get(sock, "/metrics")
    check(status == 200 and 'oauth2cc_token_requests_total{profile="reports"' in body and
          'oauth2cc_agent_requests_total{profile="reports",endpoint="auth",status="200"} 100' in body,
          "/metrics: the library's series per profile, and the agent's counts")

    # SIGHUP: `reports` becomes a DPoP client, while requests go on through nginx.
    stop = threading.Event()
    during = []

    def hammer():
        while not stop.is_set():
            during.append(http_get(via_nginx)[0])

    agent_json.write_text(json.dumps(config(True), indent=2))
    t = threading.Thread(target=hammer)
    t.start()
    wait_for(lambda: len(during) >= 5, "requests before the reload")
    agent.send_signal(signal.SIGHUP)

    def reports_is_dpop():
        return json.loads(unix_get(sock, "/v1/token/reports")[2]).get("token_type") == "DPoP"

    wait_for(reports_is_dpop, "the changed profile to take effect")
    mark = len(during)
    wait_for(lambda: len(during) >= mark + 5, "requests after the reload")
    stop.set()
    t.join()
    check(during and all(s == 200 for s in during),
          f"SIGHUP with a changed profile: {len(during)} requests through nginx, none dropped "
          f"(statuses {sorted(set(during))})")
    logs = log_lines(agent_log)
    check(any(l.get("message") == "configuration reloaded" for l in logs),
          "the reload is logged")
    anew = [l.get("profile") for l in logs if l.get("message") == "profile loaded anew"]
    check(anew == ["reports"], f"only the changed profile was made anew (saw {anew})")

    # DPoP through both gateways: the API checks each proof against its origin.
    both_gateways("DPoP")
    status, hdrs, _ = unix_get(sock, "/v1/auth/reports")
    check(status == 400, "/v1/auth of a DPoP profile without X-Original-URL: 400")
    status, hdrs, _ = unix_get(sock, "/v1/auth/reports", {"X-Original-Method": "GET",
                                                          "X-Original-URL": via_nginx})
    check(status == 200 and hdrs.get("authorization", "").startswith("DPoP ") and "dpop" in hdrs,
          "/v1/auth of a DPoP profile: Authorization: DPoP and a proof")

    # The short profile: its server killed, answers go on until the token's expiry, then
    # 503; never an expired token. Its JSON sink is replaced whole, then removed.
    short_sink = work / "sink/short.json"
    status, _, body = unix_get(sock, "/v1/token/short")
    check(status == 200, "/v1/token/short answers")
    wait_for(lambda: short_sink.exists(), "the short profile's sink")
    inode = os.stat(short_sink).st_ino
    seen_partial = []

    def read_sink():
        try:
            json.loads(short_sink.read_text())
        except FileNotFoundError:
            pass
        except json.JSONDecodeError:
            seen_partial.append(1)
        return short_sink.exists() and os.stat(short_sink).st_ino != inode

    wait_for(read_sink, "the sink to be replaced at the token's refresh", 20)
    check(not seen_partial, "a reader of the sink never saw a partial file")
    procs.stop(as2_proc, signal.SIGKILL)
    killed_at = time.monotonic()
    answers = []
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        status, _, body = unix_get(sock, "/v1/token/short")
        answers.append((status, json.loads(body)))
        if status != 200 and len([a for a in answers if a[0] != 200]) >= 3:
            break
        time.sleep(0.1)
    served = [a for s, a in answers if s == 200]
    refused = [a for s, a in answers if s != 200]
    check(served and all(a["expires_in"] >= 1 for a in served),
          f"with its server down the agent served the token {len(served)} times, each with "
          f"expires_in >= 1")
    first = next((i for i, (st, _) in enumerate(answers) if st != 200), len(answers))
    check(0 < first < len(answers) and all(st == 503 for st, _ in answers[first:]),
          "then 503, and 503 from then on (never an expired token)")
    check(refused and "error_description" in refused[0] and "basic-secret" not in json.dumps(refused),
          "the 503 says why, without a secret")
    wait_for(lambda: not short_sink.exists(), "the expired token's sink file to be removed", 20)
    print(f"  (the short profile served {len(served)} answers over "
          f"{time.monotonic() - killed_at:.1f} s after its server was killed)")

    # SIGTERM: the agent drains and exits 0, its socket gone.
    agent.send_signal(signal.SIGTERM)
    code = agent.wait(30)
    check(code == 0, f"SIGTERM: the agent exits 0 (saw {code})")
    check(not sock.exists(), "the socket is removed at exit")
    text = agent_log.read_text()
    leaked = [s for s in ("basic-secret", "dpop-secret", "read-secret", answer["access_token"],
                          access.read_text()) if s in text]
    check(not leaked, "the log holds no secret, token or access token")
    check(all("unparsed" not in l for l in log_lines(agent_log)), "every log line is JSON")


def check_configs(agent, work, good):
    """--check: 0 for a good file, 2 naming the member for a bad one, no secret shown."""
    def run_check(cfg, name):
        path = work / f"check-{name}.json"
        path.write_text(json.dumps(cfg) if isinstance(cfg, dict) else cfg)
        out = subprocess.run([agent, "--check", path], capture_output=True, text=True, timeout=30)
        return out.returncode, out.stdout + out.stderr

    code, out = run_check(good, "good")
    check(code == 0 and "good" in out, f"--check of a good file: 0 ({out.strip()[-200:]})")
    cases = [
        ("unknown", dict(good, colour="red"), "colour"),
        ("wide", dict(good, listen=["0.0.0.0:8080"]), "listen[0]"),
        ("no-access", {k: v for k, v in good.items() if k != "access_token_file"},
         "access_token_file"),
        ("sink", dict(good, sinks=[{"profile": "nobody", "path": "x"}]), "sinks[0].profile"),
        ("member", dict(good, profiles={"p": {"token_url": "http://127.0.0.1:1/token",
                                               "client_id": "c", "client_secret": "hunter2-secret",
                                               "sauce": "x"}}), "profiles.p"),
        ("json", "{not json", "not a JSON object"),
    ]
    for name, cfg, member in cases:
        code, out = run_check(cfg, name)
        check(code == 2 and member in out and "hunter2-secret" not in out,
              f"--check of a bad file ({name}): 2, naming {member} ({out.strip()[-160:]})")


if __name__ == "__main__":
    sys.exit(main())
