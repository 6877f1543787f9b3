#!/usr/bin/env bash
# The social workload: a synthetic network (10,000 users with power-law follower counts, 100,000
# photos, likes) seeded into an all-in-one PixHive on SQLite, then wrk at 64 connections with the
# DeathStarBench-style mix (60% home feed, 30% a user's photos, 10% like): req/s overall and per
# endpoint, p50/p99 per endpoint (from the server's per-route histograms); then search p50/p99
# over a fixed query list.
#
#   bench/social_bench.sh [seconds=30] [users=10000] [photos=100000]
source "$(dirname "$0")/lib.sh"
cmake --build --preset release --target social_seed >/dev/null
duration="${1:-30}"
users="${2:-10000}"
photos="${3:-100000}"

# The seeder fills the database the CLI made, before the server starts.
create_user bench
mkdir -p "$work/seed"
start=$(date +%s)
build/release/bench/social_seed "sqlite:$work/data/pixhive.db" "$work/data/jwt.key" "$work/seed" \
  "$users" "$photos"
echo "seeded in $(( $(date +%s) - start )) s"
launch_pixhive
base="http://127.0.0.1:$port"

# Warm-up (not reported): first reads rebuild the sampled users' home timelines.
SEED_DIR="$work/seed" wrk -t2 -c64 -d10s -s bench/social.lua "$base" >/dev/null

curl -s "http://127.0.0.1:$mport/metrics" >"$work/before"
SEED_DIR="$work/seed" wrk -t2 -c64 -d"${duration}s" --latency -s bench/social.lua "$base" \
  >"$work/mix.wrk"
curl -s "http://127.0.0.1:$mport/metrics" >"$work/after"
echo "mix (60% home feed, 30% user's photos, 10% like), 64 connections, ${duration}s, $(nproc) cores:"
echo "  all: $(wrk_rps "$work/mix.wrk") req/s, p50 $(wrk_pct "$work/mix.wrk" 50%), p99 $(wrk_pct "$work/mix.wrk" 99%)"
grep -E "Non-2xx|Socket errors" "$work/mix.wrk" || true
python3 bench/route_quantiles.py "$work/before" "$work/after" "$duration" /api/v1/feed/home \
  "/api/v1/users/{username}/photos" "/api/v1/photos/{id}/like" | sed 's/^/  /'

SEED_DIR="$work/seed" wrk -t2 -c16 -d"${duration}s" --latency -s bench/search.lua "$base" \
  >"$work/search.wrk"
echo "search ($(wc -l <"$work/seed/queries") fixed queries: photos, users with typos, tags), 16 connections:"
echo "  $(wrk_rps "$work/search.wrk") req/s, p50 $(wrk_pct "$work/search.wrk" 50%), p99 $(wrk_pct "$work/search.wrk" 99%)"
grep -E "Non-2xx|Socket errors" "$work/search.wrk" || true
