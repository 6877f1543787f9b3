#!/usr/bin/env bash
# Cross-process actor requests (CAF middleman, BASP over loopback TCP) next to the same calls in
# one process: pipelined requests/s from one caller and blocking round-trip latency. `linked`
# is the path services take: the same remote calls through a link's proxy actor.
#
#   bench/rpc_bench.sh [requests] [window]     (defaults 200000, 256; about 30 s on 2 cores)
#
# Goal (issue 11): >= 50,000 pipelined requests/s and < 100 us per blocking round trip across
# processes.
set -euo pipefail
cd "$(dirname "$0")/.."
n="${1:-200000}"
window="${2:-256}"
scripts/bootstrap
cmake --preset release >/dev/null
cmake --build --preset release --target rpc_bench >/dev/null
bin=$PWD/build/release/bench/rpc_bench
work=$(mktemp -d /tmp/pixhive-rpc-XXXXXX)
server=""
cleanup() {
  [ -n "$server" ] && kill "$server" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
mkfifo "$work/in"
"$bin" serve <"$work/in" >"$work/port" 2>&1 &
server=$!
exec 3>"$work/in"
for _ in $(seq 1 100); do grep -q '^port ' "$work/port" && break; sleep 0.1; done
port=$(sed -n 's/^port //p' "$work/port")
[ -n "$port" ] || { echo "rpc_bench serve did not start" >&2; cat "$work/port" >&2; exit 1; }
"$bin" local "$n" "$window"
"$bin" remote "$port" "$n" "$window"
"$bin" linked "$port" "$n" "$window"
exec 3>&-
