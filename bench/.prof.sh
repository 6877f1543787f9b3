#!/usr/bin/env bash
# usage: prof.sh OP FORMAT CLIENTS
source "$(dirname "$0")/lib.sh"
mkdir -p "$work/mp"; i=0
for f in .cache/photos/*.jpg; do for k in $(seq 0 9); do vips crop "$f" "$work/mp/$i.jpg[Q=90]" $(( (k * 149) % 2400 )) $(( (k * 97) % 1500 )) 1224 816; echo "$work/mp/$i.jpg" >>"$work/list"; i=$((i+1)); done; done
start_pixhive bench --result-cache-mb 0 --process-queue 1000
token=$(curl -sf "http://127.0.0.1:$port/api/v1/auth/login" -H 'Content-Type: application/json' -d '{"login":"bench","password":"bench password"}' | sed -E 's/.*"access_token":"([^"]*)".*/\1/')
PHOTO_LIST="$work/list" TOKEN="$token" OPERATION="$1" PARAMS="" FORMAT="$2" wrk -t2 -c$3 -d25s --latency -s bench/process.lua "http://127.0.0.1:$port" > /tmp/prof.wrk &
sleep 8
perf record -F 999 -g -p ${pids[0]} -o /tmp/perf.srv -- sleep 10 2>/dev/null >/dev/null
wait %1 2>/dev/null || true
cat /tmp/prof.wrk | grep -E "Requests/sec|99%|50%"
