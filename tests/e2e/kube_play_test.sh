#!/usr/bin/env bash
# Runs the README's curl session, as written, against the Helm chart played by podman
# (scripts/kube-play: one pod per service from the built image, the chart's trial PostgreSQL and
# Redis, s3rver, nginx as the ingress): localhost:8080 becomes the ingress, and data/outbox is
# the auth pod's /data (its emptyDir on the host). The assertions are those of
# tests/readme_session_test.sh (readme_session_lib.sh).
# Usage: tests/e2e/kube_play_test.sh [README.md]   (needs the images: see docs/helm.md)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source-path=SCRIPTDIR source=../readme_session_lib.sh
source "$here/../readme_session_lib.sh"
repo=$(cd "$here/../.." && pwd)
readme=${1:-$repo/README.md}
[ -f "$repo/.cache/photos/string.jpg" ] || "$repo/scripts/fetch-photos"

base=$(python3 "$here/free_port_base.py")
PIXHIVE_KUBE_DIR=$(mktemp -d /tmp/pixhive-kube-XXXXXX)
rmdir "$PIXHIVE_KUBE_DIR"
export PIXHIVE_KUBE_DIR PIXHIVE_KUBE_PORT=$((base + 99))
work=$(mktemp -d /tmp/pixhive-kube-session-XXXXXX)
cleanup() {
  local rc=$?
  if [ "$rc" -ne 0 ] && [ -f "$PIXHIVE_KUBE_DIR/kube-play.env" ]; then
    echo "--- kube-play status"
    "$repo/scripts/kube-play" status || true
    for c in $(podman ps -a --format '{{.Names}}' | grep -E '^pixhive-' | grep -v -- '-infra$'); do
      echo "--- last lines of $c"
      podman logs --tail 15 "$c" 2>&1 || true
    done
  fi
  "$repo/scripts/kube-play" down || true
  rm -rf "$work"
  exit "$rc"
}
trap cleanup EXIT

start=$SECONDS
url=$("$repo/scripts/kube-play" up | tail -1)
up_time=$((SECONDS - start))
echo "kube play up in ${up_time} s at $url"

cd "$work"
ln -s "$repo/.cache" .cache
ln -s "$("$repo/scripts/kube-play" data-dir auth)" data
start=$SECONDS
readme_session_run "$readme" "${url#http://}" || exit 1
echo "README session through podman kube play: 1 passed, 0 failed (up ${up_time} s, session $((SECONDS - start)) s)"
