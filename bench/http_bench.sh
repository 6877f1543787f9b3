#!/usr/bin/env bash
# HTTP benchmark: GET /api/v1/users/{username} on PixHive (release build, all-in-one, SQLite)
# against nginx serving a static JSON file of the same bytes, both on this machine, with wrk at
# 64 connections. Prints req/s, p50 and p99 for each and the ratio.
#
#   bench/http_bench.sh [seconds=15] [connections=64]
#
# wrk, the server under test and nginx share the machine's cores, as they would on one node.
source "$(dirname "$0")/lib.sh"
duration="${1:-15}"
conns="${2:-64}"

start_pixhive bench_user
path=/api/v1/users/bench_user
curl -sf "http://127.0.0.1:$port$path" >"$work/body.json"
mkdir -p "$work/www/api/v1/users"
cp "$work/body.json" "$work/www/api/v1/users/bench_user"
start_nginx "$work/www" application/json "$path"
cmp <(curl -sf "http://127.0.0.1:$nport$path") "$work/body.json"

wrk -t2 -c"$conns" -d2s "http://127.0.0.1:$port$path" >/dev/null # warm-up
wrk -t2 -c"$conns" -d"${duration}s" --latency "http://127.0.0.1:$port$path" >"$work/pixhive.wrk"
wrk -t2 -c"$conns" -d"${duration}s" --latency "http://127.0.0.1:$nport$path" >"$work/nginx.wrk"
grep -E "Non-2xx|Socket errors" "$work/pixhive.wrk" "$work/nginx.wrk" >&2 || true

echo "GET $path, body $(stat -c %s "$work/body.json") bytes, wrk -t2 -c$conns -d${duration}s, $(nproc) cores"
printf '%-8s %12s %10s %10s\n' server req/s p50 p99
for s in pixhive nginx; do
  printf '%-8s %12s %10s %10s\n' "$s" "$(wrk_rps "$work/$s.wrk")" "$(wrk_pct "$work/$s.wrk" 50%)" \
    "$(wrk_pct "$work/$s.wrk" 99%)"
done
python3 -c "print(f'pixhive/nginx throughput ratio: {$(wrk_rps "$work/pixhive.wrk")/$(wrk_rps "$work/nginx.wrk"):.2f}')"
