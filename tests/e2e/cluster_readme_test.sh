#!/usr/bin/env bash
# Runs the README's curl session, as written, against the split deployment of scripts/cluster
# (PostgreSQL, Redis, s3rver, 2 replicas of every service, nginx as the ingress): localhost:8080
# becomes the ingress, the working directory is the cluster folder (auth's outbox is its
# data/outbox). The assertions are those of tests/readme_session_test.sh (readme_session_lib.sh).
# Usage: cluster_readme_test.sh PIXHIVE_BINARY README.md
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source-path=SCRIPTDIR source=../readme_session_lib.sh
source "$here/../readme_session_lib.sh"
bin=$1
readme=$2
repo=$(cd "$(dirname "$readme")" && pwd)
[ -f "$repo/.cache/photos/string.jpg" ] || "$repo/scripts/fetch-photos"

# A free block of ports: the cluster uses base..base+69, the ingress base+99.
base=$(python3 "$here/free_port_base.py")
export PIXHIVE_BIN=$bin PIXHIVE_CLUSTER_BASE=$base PIXHIVE_CLUSTER_PORT=$((base + 99))
PIXHIVE_CLUSTER_DIR=$(mktemp -d /tmp/pixhive-cluster-XXXXXX)
export PIXHIVE_CLUSTER_DIR
cleanup() {
  local rc=$?
  if [ "$rc" -ne 0 ] && [ -d "$PIXHIVE_CLUSTER_DIR/logs" ]; then
    echo "--- cluster status"
    "$repo/scripts/cluster" status || true
    for f in "$PIXHIVE_CLUSTER_DIR"/logs/*.log; do
      echo "--- last lines of $(basename "$f")"
      tail -n 15 "$f"
    done
  fi
  "$repo/scripts/cluster" down --wipe || true
  exit "$rc"
}
trap cleanup EXIT

start=$SECONDS
url=$("$repo/scripts/cluster" up | tail -1)
up_time=$((SECONDS - start))
echo "cluster up in ${up_time} s at $url"

cd "$PIXHIVE_CLUSTER_DIR"
ln -s "$repo/.cache" .cache
start=$SECONDS
readme_session_run "$readme" "${url#http://}" || exit 1
# The web app's pages come through the ingress's catch-all from media; the probes stay inside.
for page in / /photos/1 /users/alice/followers; do
  html=$(curl -fsS "$url$page")
  grep -qF '<div id="app">' <<<"$html" || {
    echo "FAIL: $page through the ingress is not the web app"
    exit 1
  }
done
asset=$(curl -fsS "$url/" | grep -o '/assets/[^"]*\.js' | head -1)
[ "$(curl -s -o /dev/null -w '%{http_code} %{content_type}' "$url$asset")" = "200 text/javascript; charset=utf-8" ] || {
  echo "FAIL: the app's script $asset is not served through the ingress"
  exit 1
}
[ "$(curl -s -o /dev/null -w '%{http_code}' "$url/healthz")" = 404 ] || {
  echo "FAIL: /healthz is reachable through the ingress"
  exit 1
}
echo "README session through the ingress: 1 passed, 0 failed (cluster up ${up_time} s, session $((SECONDS - start)) s)"
