#!/usr/bin/env bash
# Load test of `airlock serve`: builds the release binaries, starts the service on a
# generated policy, runs one airlock-loadgen scenario against it, stops the service.
#
#   scripts/load.sh [--postgres URL] [--rules N] [--no-build] SCENARIO [LOADGEN ARGS…]
#
#   SCENARIO   decisions | approvals | list | soak   (see `airlock-loadgen help SCENARIO`)
#   --postgres URL   run the service on PostgreSQL (a fresh tenant per run) instead of
#                    SQLite in a temporary data directory
#   --rules N        size of the generated policy (default 1000)
#   --no-build       use the binaries already built
#
# Examples (targets of issue 5):
#   scripts/load.sh decisions --connections 64 --duration 30s
#   scripts/load.sh --postgres postgres://postgres@127.0.0.1:5432/test decisions --duration 30s
#   scripts/load.sh approvals --count 200
#   scripts/load.sh approvals --count 200 --under-load 32
#   scripts/load.sh list --pending 10000
#   scripts/load.sh soak --duration 10m
#
# The service's pid is passed to airlock-loadgen (--pid), so its CPU use (and, for
# soak, its memory) is reported. Binaries go to $CARGO_TARGET_DIR (default
# ./target). The temporary directory (policy, SQLite data, the service's log) is
# removed at the end unless KEEP=1. AIRLOCK_SERVE_ARGS adds arguments to
# `airlock serve`; AIRLOCK_BIN runs another `airlock` binary (e.g. a build of another
# commit, with --no-build); LOADGEN_THREADS sets the load generator's threads
# (default 1). Any other environment (AIRLOCK_*, RUST_LOG…) reaches the service.
#
# With --postgres the CPU of every `postgres` process is reported too (the database
# runs on the same machine here), and the run's rows stay in the database under
# tenant load-PID-TIME; remove them with
#   DELETE FROM airlock_records WHERE tenant LIKE 'load-%';
#   DELETE FROM airlock_credentials WHERE tenant LIKE 'load-%';
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
target_dir="${CARGO_TARGET_DIR:-$root/target}"
postgres=""
rules=1000
build=1
while [[ $# -gt 0 ]]; do
    case "$1" in
        --postgres) postgres="$2"; shift 2 ;;
        --rules) rules="$2"; shift 2 ;;
        --no-build) build=0; shift ;;
        -h|--help) sed -n "2,33p" "$0"; exit 0 ;;
        *) break ;;
    esac
done
if [[ $# -lt 1 ]]; then
    echo "usage: scripts/load.sh [--postgres URL] [--rules N] [--no-build] SCENARIO [ARGS…]" >&2
    exit 2
fi
scenario="$1"; shift
case "$scenario" in
    decisions|approvals|list|soak) ;;
    *) echo "load.sh: unknown scenario '$scenario' (decisions, approvals, list, soak)" >&2; exit 2 ;;
esac

if [[ $build == 1 ]]; then
    # Two builds, so that the service is built exactly as `cargo build -p airlock-cli`
    # builds it (no features unified with the load generator's).
    (cd "$root" && cargo build --release -p airlock-cli && cargo build --release -p airlock-loadgen)
fi
airlock="${AIRLOCK_BIN:-$target_dir/release/airlock}"
loadgen="$target_dir/release/airlock-loadgen"

tmp="$(mktemp -d "${TMPDIR:-/tmp}/airlock-load.XXXXXX")"
server_pid=""
cleanup() {
    if [[ -n "$server_pid" ]] && kill -0 "$server_pid" 2>/dev/null; then
        kill "$server_pid" 2>/dev/null || true
        wait "$server_pid" 2>/dev/null || true
    fi
    if [[ "${KEEP:-0}" == 1 ]]; then
        echo "load.sh: kept $tmp" >&2
    else
        rm -rf "$tmp"
    fi
}
trap cleanup EXIT

"$loadgen" policy --rules "$rules" > "$tmp/policy.yaml"
token="al_$(od -An -N32 -tx1 /dev/urandom | tr -d ' \n')"

serve=("$airlock" serve --listen 127.0.0.1:0 --policy "$tmp/policy.yaml" --data-dir "$tmp/data")
if [[ -n "$postgres" ]]; then
    # A tenant of its own, so that earlier runs' requests on the shared database do
    # not count.
    serve+=(--postgres "$postgres" --admin-tenant "load-$$-$(date +%s)")
fi
# shellcheck disable=SC2206
serve+=(${AIRLOCK_SERVE_ARGS:-})
AIRLOCK_ADMIN_TOKEN="$token" "${serve[@]}" 2> "$tmp/serve.log" > /dev/null &
server_pid=$!

addr=""
for _ in $(seq 1 300); do
    addr="$(sed -n 's|^airlock: serving on http://\([^ ]*\).*|\1|p' "$tmp/serve.log" | head -1)"
    [[ -n "$addr" ]] && break
    if ! kill -0 "$server_pid" 2>/dev/null; then
        echo "load.sh: airlock serve exited:" >&2
        cat "$tmp/serve.log" >&2
        exit 2
    fi
    sleep 0.1
done
if [[ -z "$addr" ]]; then
    echo "load.sh: airlock serve did not start in 30 s:" >&2
    cat "$tmp/serve.log" >&2
    exit 2
fi

store="SQLite in $tmp/data"
[[ -n "$postgres" ]] && store="PostgreSQL"
echo "load.sh: airlock serve (pid $server_pid) on http://$addr, $store, $rules-rule policy; $(uptime)" >&2

extra=()
if [[ -n "$postgres" && " $* " != *" --watch-comm "* ]]; then
    # The database's backends do much of the work: report their CPU too.
    extra+=(--watch-comm postgres)
fi
status=0
AIRLOCK_ADMIN_TOKEN="$token" "$loadgen" "$scenario" \
    --server "http://$addr" --rules "$rules" --pid "$server_pid" \
    --threads "${LOADGEN_THREADS:-1}" "${extra[@]}" "$@" || status=$?
echo "load.sh: done; $(uptime)" >&2
if ! kill -0 "$server_pid" 2>/dev/null; then
    echo "load.sh: airlock serve died during the run:" >&2
    tail -20 "$tmp/serve.log" >&2
    status=2
fi
exit "$status"
