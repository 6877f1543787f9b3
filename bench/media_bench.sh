#!/usr/bin/env bash
# Media benchmark on real camera JPEGs (scripts/fetch-photos):
#  1. uploads per second and MB/s with 8 concurrent clients (raw image/jpeg POSTs);
#  2. GET original served from the hot-blob cache at 64 connections, next to nginx serving the
#     same files from disk in the same run, with the ratio.
#
#   bench/media_bench.sh [seconds=15]
source "$(dirname "$0")/lib.sh"
duration="${1:-15}"
photos=$PWD/.cache/photos
field() { sed -E "s/.*\"$1\":\"?([^\",}]*)\"?.*/\1/"; }

start_pixhive bench --cache-mb 512
base="http://127.0.0.1:$port"
token=$(curl -sf "$base/api/v1/auth/login" -H 'Content-Type: application/json' \
  -d '{"login":"bench","password":"bench password"}' | field access_token)

avg_bytes=$(( $(cat "$photos"/*.jpg | wc -c) / $(ls "$photos"/*.jpg | wc -l) ))

# 1. Uploads.
PHOTO_DIR="$photos" TOKEN="$token" wrk -t2 -c8 -d"${duration}s" --latency -s bench/upload.lua \
  "$base/api/v1/photos" >"$work/upload.wrk"
up_rps=$(wrk_rps "$work/upload.wrk")
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
start_nginx "$work/www" image/jpeg "$(head -1 "$work/paths")"

PATHS_FILE="$work/paths" wrk -t2 -c64 -d"${duration}s" --latency -s bench/paths.lua "$base" >"$work/get.wrk"
PATHS_FILE="$work/paths" wrk -t2 -c64 -d"${duration}s" --latency -s bench/paths.lua \
  "http://127.0.0.1:$nport" >"$work/nginx.wrk"
grep -E "Non-2xx|Socket errors" "$work/get.wrk" "$work/nginx.wrk" >&2 || true

echo "photos: $(ls "$photos"/*.jpg | wc -l) camera JPEGs, mean $((avg_bytes / 1024)) KiB; $(nproc) cores; ${duration}s per run"
python3 - "$up_rps" "$avg_bytes" <<PY
import sys
rps, size = float(sys.argv[1]), int(sys.argv[2])
print(f"uploads, 8 clients:        {rps:8.1f} uploads/s  {rps*size/1e6:7.1f} MB/s  p99 $(wrk_pct "$work/upload.wrk" 99%)")
PY
g=$(wrk_rps "$work/get.wrk"); n=$(wrk_rps "$work/nginx.wrk")
python3 - "$g" "$n" "$avg_bytes" <<PY
import sys
g, n, size = float(sys.argv[1]), float(sys.argv[2]), int(sys.argv[3])
print(f"GET original (cache), 64:  {g:8.1f} req/s      {g*size/1e6:7.1f} MB/s  p50 $(wrk_pct "$work/get.wrk" 50%)  p99 $(wrk_pct "$work/get.wrk" 99%)")
print(f"nginx from disk, 64:       {n:8.1f} req/s      {n*size/1e6:7.1f} MB/s  p50 $(wrk_pct "$work/nginx.wrk" 50%)  p99 $(wrk_pct "$work/nginx.wrk" 99%)")
print(f"pixhive/nginx ratio: {g/n:.2f}")
PY
