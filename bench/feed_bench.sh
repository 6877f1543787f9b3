#!/usr/bin/env bash
# A warm home-feed read against nginx serving the same JSON bytes as a static file: a small
# seeded network (USERS users, PHOTOS photos, likes, comments; bench/social_seed), one reader's
# GET /api/v1/feed/home?limit=10 (about 4 KB), wrk at 64 connections on both, in one run. Prints
# req/s, p50 and p99 of both and the ratio, and PixHive's peak memory. With PROFILE=1, also
# records where PixHive's CPU goes (linux-perf, 10 s in the middle of its run) and prints the
# top shared objects and symbols.
#
#   bench/feed_bench.sh [seconds=15] [users=300] [photos=3000]
#
# Run time: about 2 x seconds plus 20 s of seeding and warm-up.
source "$(dirname "$0")/lib.sh"
cmake --build --preset release --target social_seed >/dev/null
duration="${1:-15}"
users="${2:-300}"
photos="${3:-3000}"

create_user bench
mkdir -p "$work/seed"
build/release/bench/social_seed "sqlite:$work/data/pixhive.db" "$work/data/jwt.key" "$work/seed" \
  "$users" "$photos" >/dev/null
launch_pixhive
base="http://127.0.0.1:$port"
token=$(head -1 "$work/seed/tokens")
path="/api/v1/feed/home?limit=10"
# The first read rebuilds the reader's timeline; the body then stays the same.
curl -sf "$base$path" -H "Authorization: Bearer $token" >/dev/null
curl -sf "$base$path" -H "Authorization: Bearer $token" >"$work/body.json"
mkdir -p "$work/www/api/v1/feed"
cp "$work/body.json" "$work/www/api/v1/feed/home"
start_nginx "$work/www" application/json "/api/v1/feed/home"

wrk -t2 -c64 -d2s -H "Authorization: Bearer $token" "$base$path" >/dev/null  # warm-up
if [ "${PROFILE:-0}" = 1 ]; then
  command -v perf >/dev/null || { echo "PROFILE=1 needs linux-perf" >&2; exit 1; }
  (sleep $((duration / 2 - 5 > 0 ? duration / 2 - 5 : 0)) &&
    perf record -F 999 -g -p "${pixhive_pids[0]}" -o "$work/perf.data" -- sleep 10 \
      >/dev/null 2>&1) &
  profiler=$!
fi
wrk -t2 -c64 -d"${duration}s" --latency -H "Authorization: Bearer $token" "$base$path" \
  >"$work/pixhive.wrk"
[ -z "${profiler:-}" ] || wait "$profiler"
wrk -t2 -c64 -d"${duration}s" --latency "http://127.0.0.1:$nport/api/v1/feed/home" \
  >"$work/nginx.wrk"
grep -E "Non-2xx|Socket errors" "$work/pixhive.wrk" "$work/nginx.wrk" >&2 || true

echo "GET $path, $(jq '.items | length' "$work/body.json" 2>/dev/null || echo ?) cards, $(stat -c %s "$work/body.json") bytes, $users users, $photos photos, wrk -t2 -c64 -d${duration}s, $(nproc) cores"
printf '%-8s %12s %10s %10s\n' server req/s p50 p99
for s in pixhive nginx; do
  printf '%-8s %12s %10s %10s\n' "$s" "$(wrk_rps "$work/$s.wrk")" "$(wrk_pct "$work/$s.wrk" 50%)" \
    "$(wrk_pct "$work/$s.wrk" 99%)"
done
python3 -c "import sys; print(f'pixhive / nginx: {float(sys.argv[1]) / float(sys.argv[2]):.3f}')" \
  "$(wrk_rps "$work/pixhive.wrk")" "$(wrk_rps "$work/nginx.wrk")"
if [ -n "${profiler:-}" ]; then
  echo "where PixHive's CPU went (perf, 10 s):"
  perf report -i "$work/perf.data" --no-children --sort dso -g none --stdio 2>/dev/null |
    grep -E '^ +[0-9]' | head -12
  perf report -i "$work/perf.data" --no-children --sort dso,sym -g none --stdio 2>/dev/null |
    grep -E '^ +[0-9]' | head -40
fi
