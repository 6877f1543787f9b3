#!/usr/bin/env bash
# Media benchmark on real camera JPEGs (scripts/fetch-photos):
#  1. uploads per second and MB/s with 8 concurrent clients (raw image/jpeg POSTs);
#  2. GET original served from the hot-blob cache at 64 connections, next to nginx serving the
#     same files from disk in the same run, with the ratio.
#
#   bench/media_bench.sh [seconds=15]
set -euo pipefail
cd "$(dirname "$0")/.."
duration="${1:-15}"

scripts/bootstrap
cmake --preset release >/dev/null
cmake --build --preset release --target pixhive >/dev/null
bin=$PWD/build/release/apps/pixhive/pixhive
photos=$PWD/.cache/photos

work=$(mktemp -d /tmp/pixhive-media-bench-XXXXXX)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
field() { sed -E "s/.*\"$1\":\"?([^\",}]*)\"?.*/\1/"; }

"$bin" admin create-user --data-dir "$work/data" --username bench --email bench@example.com \
  --password 'bench password' --log-level warn >/dev/null
"$bin" --data-dir "$work/data" --port 0 --address 127.0.0.1 --access-log false --cache-mb 512 \
  2>"$work/pixhive.log" &
pids+=($!)
for _ in $(seq 1 100); do
  port=$(grep -o '"event":"listening".*' "$work/pixhive.log" | grep -o '"port":[0-9]*' | cut -d: -f2 || true)
  [ -n "$port" ] && break
  sleep 0.1
done
[ -n "$port" ] || { echo "pixhive did not start" >&2; cat "$work/pixhive.log" >&2; exit 1; }
base="http://127.0.0.1:$port"
token=$(curl -sf "$base/api/v1/auth/login" -H 'Content-Type: application/json' \
  -d '{"login":"bench","password":"bench password"}' | field access_token)

avg_bytes=$(( $(cat "$photos"/*.jpg | wc -c) / $(ls "$photos"/*.jpg | wc -l) ))
rps() { awk '/Requests\/sec/ {print $2}' "$1"; }
pct() { awk -v p="$2" '$1==p {print $2}' "$1"; }

# 1. Uploads.
PHOTO_DIR="$photos" TOKEN="$token" wrk -t2 -c8 -d"${duration}s" --latency -s bench/upload.lua \
  "$base/api/v1/photos" >"$work/upload.wrk"
up_rps=$(rps "$work/upload.wrk")
grep -E "Non-2xx|Socket errors" "$work/upload.wrk" >&2 || true

# 2. Cached originals vs nginx from disk: one upload per photo, the same paths on both servers.
mkdir -p "$work/www"
: >"$work/paths"
for f in "$photos"/*.jpg; do
  id=$(curl -sf "$base/api/v1/photos" -H "Authorization: Bearer $token" -H 'Content-Type: image/jpeg' \
    --data-binary @"$f" | sed -E 's|.*"original_url":"/api/v1/photos/([0-9]+)/original".*|\1|')
  mkdir -p "$work/www/api/v1/photos/$id"
  cp "$f" "$work/www/api/v1/photos/$id/original"
  echo "/api/v1/photos/$id/original" >>"$work/paths"
  curl -sf "$base/api/v1/photos/$id/original" -o /dev/null   # warm the cache
done
nport=$(free_port)
cat >"$work/nginx.conf" <<CONF
worker_processes 2;
daemon off;
pid $work/nginx.pid;
error_log $work/nginx-error.log;
user root;
events { worker_connections 1024; }
http {
  access_log off;
  sendfile on;
  keepalive_requests 1000000;
  server { listen 127.0.0.1:$nport; root $work/www; default_type image/jpeg; }
}
CONF
nginx -c "$work/nginx.conf" -p "$work" &
pids+=($!)
for _ in $(seq 1 50); do curl -sf "http://127.0.0.1:$nport$(head -1 "$work/paths")" -o /dev/null && break; sleep 0.1; done

PATHS_FILE="$work/paths" wrk -t2 -c64 -d"${duration}s" --latency -s bench/paths.lua "$base" >"$work/get.wrk"
PATHS_FILE="$work/paths" wrk -t2 -c64 -d"${duration}s" --latency -s bench/paths.lua \
  "http://127.0.0.1:$nport" >"$work/nginx.wrk"
grep -E "Non-2xx|Socket errors" "$work/get.wrk" "$work/nginx.wrk" >&2 || true

echo "photos: $(ls "$photos"/*.jpg | wc -l) camera JPEGs, mean $((avg_bytes / 1024)) KiB; $(nproc) cores; ${duration}s per run"
python3 - "$up_rps" "$avg_bytes" <<PY
import sys
rps, size = float(sys.argv[1]), int(sys.argv[2])
print(f"uploads, 8 clients:        {rps:8.1f} uploads/s  {rps*size/1e6:7.1f} MB/s  p99 $(pct "$work/upload.wrk" 99%)")
PY
g=$(rps "$work/get.wrk"); n=$(rps "$work/nginx.wrk")
python3 - "$g" "$n" "$avg_bytes" <<PY
import sys
g, n, size = float(sys.argv[1]), float(sys.argv[2]), int(sys.argv[3])
print(f"GET original (cache), 64:  {g:8.1f} req/s      {g*size/1e6:7.1f} MB/s  p50 $(pct "$work/get.wrk" 50%)  p99 $(pct "$work/get.wrk" 99%)")
print(f"nginx from disk, 64:       {n:8.1f} req/s      {n*size/1e6:7.1f} MB/s  p50 $(pct "$work/nginx.wrk" 50%)  p99 $(pct "$work/nginx.wrk" 99%)")
print(f"pixhive/nginx ratio: {g/n:.2f}")
PY
