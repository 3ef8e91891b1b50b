#!/usr/bin/env python3
"""Added latency of airlock's MCP gateways for an allowed tools/call, side by side in one run.

    scripts/mcp-latency.py [--calls N] [--airlock PATH] [--transport stdio|http]

stdio: starts the test fixture MCP server (crates/airlock-cli/tests/fixtures/mcp/fake-server.js)
twice, once directly and once behind `airlock mcp` (the built-in policy and a local
ledger in a temporary directory).

http: serves the same fixture over Streamable HTTP with supergateway (installed by
`cargo test -p airlock-cli --test mcp_http` under target/mcp-http-node, or give
--node-modules), and starts `airlock serve --mcp fake=URL` in front of it (SQLite and
its ledger in a temporary directory); one session directly, one through
/mcp/fake with an agent key.

Either way: initializes both, then alternates N `tools/call get_notes` (a read,
allowed) between them, timing each round trip, and prints p50/p90/p99 of both and
of the difference.
"""

import argparse
import http.client
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SERVER = ROOT / "crates/airlock-cli/tests/fixtures/mcp/fake-server.js"


def start(cmd, env):
    return subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env, text=True, bufsize=1)


def rpc(p, msg):
    p.stdin.write(json.dumps(msg) + "\n")
    p.stdin.flush()
    if "id" not in msg:
        return None
    while True:
        line = p.stdout.readline()
        if not line:
            raise SystemExit(f"the server closed: {p.args}")
        m = json.loads(line)
        if m.get("id") == msg["id"]:
            return m


def pct(xs, q):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(len(xs) * q))]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, what):
    for _ in range(200):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.1)
    raise SystemExit(f"{what} did not listen on {port}")


class HttpSession:
    """One Streamable HTTP session on a kept-alive connection."""

    def __init__(self, port, path, key=None):
        self.conn = http.client.HTTPConnection("127.0.0.1", port)
        self.path, self.key, self.session = path, key, None

    def rpc(self, msg):
        headers = {"Content-Type": "application/json", "Accept": "application/json, text/event-stream"}
        if self.key:
            headers["Authorization"] = f"Bearer {self.key}"
        if self.session:
            headers["Mcp-Session-Id"] = self.session
        self.conn.request("POST", self.path, json.dumps(msg), headers)
        r = self.conn.getresponse()
        body = r.read().decode()
        self.session = r.getheader("mcp-session-id") or self.session
        if "id" not in msg:
            return None
        if r.getheader("content-type", "").startswith("text/event-stream"):
            data = [l[5:].strip() for l in body.splitlines() if l.startswith("data:")]
            for d in data:
                m = json.loads(d)
                if m.get("id") == msg["id"]:
                    return m
            raise SystemExit(f"no answer to {msg['id']}: {body}")
        return json.loads(body)


def http_pair(args, home):
    modules = Path(args.node_modules)
    port = free_port()
    procs = [subprocess.Popen(["node", str(modules / "supergateway/dist/index.js"), "--stdio", f"node {SERVER}",
                               "--outputTransport", "streamableHttp", "--stateful", "--port", str(port),
                               "--logLevel", "none"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)]
    wait_port(port, "supergateway")
    service_port = free_port()
    service = subprocess.Popen([args.airlock, "serve", "--listen", f"127.0.0.1:{service_port}", "--data-dir", home,
                                "--mcp", f"fake=http://127.0.0.1:{port}/mcp"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    procs.append(service)
    admin = None
    for line in service.stderr:
        if "admin token" in line:
            admin = next(service.stderr).strip()
        if line.startswith("airlock: serving on"):
            break
    conn = http.client.HTTPConnection("127.0.0.1", service_port)
    conn.request("POST", "/v1/agents", json.dumps({"name": "bench"}),
                 {"Authorization": f"Bearer {admin}", "Content-Type": "application/json"})
    key = json.loads(conn.getresponse().read())["token"]
    return HttpSession(port, "/mcp"), HttpSession(service_port, "/mcp/fake", key), procs


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--calls", type=int, default=500)
    ap.add_argument("--airlock", default=str(ROOT / "target/release/airlock"))
    ap.add_argument("--transport", choices=["stdio", "http"], default="stdio")
    ap.add_argument("--node-modules", default=str(ROOT / "target/mcp-http-node/node_modules"))
    args = ap.parse_args()
    if args.transport == "http":
        return measure_http(args)
    home = tempfile.mkdtemp(prefix="airlock-mcp-latency-")
    env = dict(os.environ, AIRLOCK_HOOK_LEDGER=home, HOME=home)
    direct = start(["node", str(SERVER)], env)
    gated = start([args.airlock, "mcp", "--server", "fake", "--state-dir", home, "--", "node", str(SERVER)], env)
    init = {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "bench", "version": "1"}}
    for p in (direct, gated):
        rpc(p, {"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": init})
        rpc(p, {"jsonrpc": "2.0", "method": "notifications/initialized"})
        rpc(p, {"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {}})
    times = {"direct": [], "gated": []}
    for i in range(args.calls + 20):
        for name, p in (("direct", direct), ("gated", gated)):
            msg = {"jsonrpc": "2.0", "id": 2 + i, "method": "tools/call", "params": {"name": "get_notes", "arguments": {}}}
            t = time.perf_counter()
            r = rpc(p, msg)
            dt = time.perf_counter() - t
            if "result" not in r or r["result"].get("isError"):
                raise SystemExit(f"{name}: the call was not let through: {r}")
            if i >= 20:  # warm-up
                times[name].append(dt * 1e6)
    for p in (direct, gated):
        p.stdin.close()
        p.wait(timeout=10)
    d, g = times["direct"], times["gated"]
    added = [b - a for a, b in zip(d, g)]
    for name, xs in (("direct", d), ("through airlock mcp", g), ("added", added)):
        print(f"{name:>20}: p50 {pct(xs, .5):8.0f} µs | p90 {pct(xs, .9):8.0f} µs | p99 {pct(xs, .99):8.0f} µs")
    return 0


def measure_http(args):
    home = tempfile.mkdtemp(prefix="airlock-mcp-http-latency-")
    direct, gated, procs = http_pair(args, home)
    try:
        init = {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "bench", "version": "1"}}
        for s in (direct, gated):
            s.rpc({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": init})
            s.rpc({"jsonrpc": "2.0", "method": "notifications/initialized"})
            s.rpc({"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {}})
        times = {"direct": [], "gated": []}
        for i in range(args.calls + 20):
            for name, s in (("direct", direct), ("gated", gated)):
                msg = {"jsonrpc": "2.0", "id": 2 + i, "method": "tools/call",
                       "params": {"name": "get_notes", "arguments": {}}}
                t = time.perf_counter()
                r = s.rpc(msg)
                dt = time.perf_counter() - t
                if "result" not in r or r["result"].get("isError"):
                    raise SystemExit(f"{name}: the call was not let through: {r}")
                if i >= 20:
                    times[name].append(dt * 1e6)
    finally:
        for p in procs:
            p.terminate()
            p.wait(timeout=10)
    d, g = times["direct"], times["gated"]
    added = [b - a for a, b in zip(d, g)]
    for name, xs in (("direct", d), ("through /mcp/fake", g), ("added", added)):
        print(f"{name:>20}: p50 {pct(xs, .5):8.0f} µs | p90 {pct(xs, .9):8.0f} µs | p99 {pct(xs, .99):8.0f} µs")
    return 0


if __name__ == "__main__":
    sys.exit(main())
