#!/usr/bin/env python3
"""Added latency of `airlock mcp` for an allowed tools/call, side by side in one run.

    scripts/mcp-latency.py [--calls N] [--airlock PATH] [--mode local|service]

Starts the test fixture MCP server (crates/airlock-cli/tests/fixtures/mcp/fake-server.js)
twice: once directly, once behind `airlock mcp` (local mode: the built-in policy and a
local ledger in a temporary directory, or service mode with AIRLOCK_SERVER and
AIRLOCK_AGENT_KEY set). Initializes both, then alternates N `tools/call get_notes`
(a read, allowed) between them, timing each round trip, and prints p50/p90/p99 of
both and of the difference.
"""

import argparse
import json
import os
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


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--calls", type=int, default=500)
    ap.add_argument("--airlock", default=str(ROOT / "target/release/airlock"))
    args = ap.parse_args()
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


if __name__ == "__main__":
    sys.exit(main())
