#!/usr/bin/env bash
# HTTP benchmark: GET /api/v1/users/{username} on PixHive (release build, all-in-one, SQLite)
# against nginx serving a static JSON file of the same size, both on this machine, with wrk at
# 64 connections. Prints req/s, p50 and p99 for each and the ratio.
#
#   bench/http_bench.sh [seconds=15] [connections=64]
#
# wrk, the server under test and nginx share the machine's cores, as they would on one node.
set -euo pipefail
cd "$(dirname "$0")/.."
duration="${1:-15}"
conns="${2:-64}"
threads=2

scripts/bootstrap
cmake --preset release >/dev/null
cmake --build --preset release --target pixhive >/dev/null
bin=build/release/apps/pixhive/pixhive

work=$(mktemp -d /tmp/pixhive-bench-XXXXXX)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# PixHive, with the access log off (as for nginx below): the benchmark measures serving, not logging.
"$bin" admin create-user --data-dir "$work/data" --username bench_user --email bench@example.com \
  --password 'bench password' --log-level warn >/dev/null
"$bin" --data-dir "$work/data" --port 0 --address 127.0.0.1 --access-log false 2>"$work/pixhive.log" &
pids+=($!)
for _ in $(seq 1 100); do
  port=$(grep -o '"event":"listening".*' "$work/pixhive.log" | grep -o '"port":[0-9]*' | cut -d: -f2 || true)
  [ -n "$port" ] && break
  sleep 0.1
done
[ -n "$port" ] || { echo "pixhive did not start" >&2; cat "$work/pixhive.log" >&2; exit 1; }
path=/api/v1/users/bench_user
curl -sf "http://127.0.0.1:$port$path" >"$work/body.json"

# nginx serving the same bytes as a static file.
mkdir -p "$work/www/api/v1/users"
cp "$work/body.json" "$work/www/api/v1/users/bench_user"
nport=$(free_port)
cat >"$work/nginx.conf" <<CONF
worker_processes $threads;
daemon off;
pid $work/nginx.pid;
error_log $work/nginx-error.log;
user root;
events { worker_connections 1024; }
http {
  access_log off;
  keepalive_requests 1000000;
  server {
    listen 127.0.0.1:$nport;
    root $work/www;
    default_type application/json;
  }
}
CONF
nginx -c "$work/nginx.conf" -p "$work" &
pids+=($!)
for _ in $(seq 1 50); do curl -sf "http://127.0.0.1:$nport$path" >/dev/null && break; sleep 0.1; done
cmp <(curl -sf "http://127.0.0.1:$nport$path") "$work/body.json"

run() {  # name url -> "rps p50 p99"
  wrk -t"$threads" -c"$conns" -d"${duration}s" --latency "$2" >"$work/$1.wrk"
  local rps p50 p99
  rps=$(awk '/Requests\/sec/ {print $2}' "$work/$1.wrk")
  p50=$(awk '$1=="50%" {print $2}' "$work/$1.wrk")
  p99=$(awk '$1=="99%" {print $2}' "$work/$1.wrk")
  local errors
  errors=$(grep -E "Non-2xx|Socket errors" "$work/$1.wrk" || true)
  [ -n "$errors" ] && echo "$1: $errors" >&2
  echo "$rps $p50 $p99"
}

wrk -t"$threads" -c"$conns" -d2s "http://127.0.0.1:$port$path" >/dev/null   # warm-up
read -r p_rps p_p50 p_p99 < <(run pixhive "http://127.0.0.1:$port$path")
read -r n_rps n_p50 n_p99 < <(run nginx "http://127.0.0.1:$nport$path")

echo "GET $path, body $(stat -c %s "$work/body.json") bytes, wrk -t$threads -c$conns -d${duration}s, $(nproc) cores"
printf '%-8s %12s %10s %10s\n' server req/s p50 p99
printf '%-8s %12s %10s %10s\n' pixhive "$p_rps" "$p_p50" "$p_p99"
printf '%-8s %12s %10s %10s\n' nginx "$n_rps" "$n_p50" "$n_p99"
python3 -c "print(f'pixhive/nginx throughput ratio: {float(\"$p_rps\")/float(\"$n_rps\"):.2f}')"
