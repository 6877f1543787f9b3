#!/usr/bin/env bash
# Runs the README's curl session, as written, against a fresh all-in-one server on a free port.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=readme_session_lib.sh
source "$(dirname "$0")/readme_session_lib.sh"
bin="$1"
readme="$2"
work=$(mktemp -d /tmp/pixhive-readme-XXXXXX)
pid=""
trap '[ -n "$pid" ] && kill "$pid" 2>/dev/null; wait 2>/dev/null; rm -rf "$work"' EXIT
repo=$(cd "$(dirname "$readme")" && pwd)
[ -f "$repo/.cache/photos/string.jpg" ] || "$repo/scripts/fetch-photos"
cd "$work"
ln -s "$repo/.cache" .cache
"$bin" --port 0 --address 127.0.0.1 --data-dir ./data 2>server.log &
pid=$!
port=""
for _ in $(seq 1 300); do
  port=$(grep -o '"event":"listening".*' server.log | grep -o '"port":[0-9]*' | cut -d: -f2 || true)
  [ -n "$port" ] && break
  kill -0 "$pid" 2>/dev/null || { cat server.log; exit 1; }
  sleep 0.1
done
[ -n "$port" ] || { echo "server did not start"; cat server.log; exit 1; }
readme_session_run "$readme" "localhost:$port" || exit 1
echo "README session: 1 passed, 0 failed"
