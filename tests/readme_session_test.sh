#!/usr/bin/env bash
# Runs the README's curl session, as written, against a fresh all-in-one server on a free port.
set -euo pipefail
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
sed -n '/<!-- curl-session -->/,/<!-- \/curl-session -->/p' "$readme" | sed '/^```/d; /^<!--/d' \
  | sed "s/localhost:8080/localhost:$port/g" >session.sh
[ -s session.sh ] || { echo "no curl session found in the README"; exit 1; }
out=$(bash -e session.sh)
echo "$out"
echo "$out" | grep -q '"username":"alice","verified":true' || { echo "FAIL: /users/me did not return verified alice"; exit 1; }
echo "$out" | grep -q '"hashtags":\["macro"\]' || { echo "FAIL: the photo's metadata was not shown"; exit 1; }
want=$(echo "$out" | grep -oE '[0-9a-f]{64}  \.cache/photos/string\.jpg' | cut -c1-64)
got=$(echo "$out" | grep -oE '[0-9a-f]{64}  downloaded\.jpg' | cut -c1-64)
[ -n "$want" ] && [ "$want" = "$got" ] || { echo "FAIL: downloaded bytes differ ($want vs $got)"; exit 1; }
echo "$out" | grep -q '"status":"ready"' || { echo "FAIL: the photo never became ready"; exit 1; }
echo "$out" | grep -qE '"hash":"[0-9a-f]{16}"' || { echo "FAIL: no perceptual hash"; exit 1; }
echo "$out" | grep -qE '"tags":\["[a-z]' || { echo "FAIL: no automatic tags"; exit 1; }
echo "$out" | grep -q '"name":"display-webp"' || { echo "FAIL: no display variant"; exit 1; }
echo "$out" | grep -q '^200 image/jpeg$' || { echo "FAIL: the thumbnail was not served"; exit 1; }
echo "$out" | grep -q '^event: succeeded$' || { echo "FAIL: the job's events did not end in succeeded"; exit 1; }
echo "$out" | grep -q '^200 image/webp$' || { echo "FAIL: POST /process did not answer a WebP"; exit 1; }
echo "$out" | grep -q '"following":true' || { echo "FAIL: bob does not follow alice"; exit 1; }
echo "$out" | grep -q '"liked_by_me":true' || { echo "FAIL: bob's like was not recorded"; exit 1; }
for kind in follow like comment photo_ready; do
  echo "$out" | grep -q "\"kind\":\"$kind\"" || { echo "FAIL: no $kind notification for alice"; exit 1; }
done
photo=$(echo "$out" | grep -oE '"original_url":"/api/v1/photos/[0-9]+/original"' | head -1 | sed -E 's|.*/photos/([0-9]+)/.*|\1|')
echo "$out" | python3 -c '
import json, sys
photo = sys.argv[1]
docs = []
for line in sys.stdin:
    try:
        docs.append(json.loads(line))
    except ValueError:
        pass
pages = [d for d in docs if isinstance(d, dict) and "items" in d]
feeds = [d for d in pages if "type" not in d]
assert feeds and feeds[-1]["items"][0]["id"] == photo, "bob home feed does not start with the photo"
first = feeds[-1]["items"][0]
assert first["owner"]["username"] == "alice" and first["liked_by_me"] and first["comments"] == 1, first
found = [d for d in pages if d.get("type") == "photos" and any(i["id"] == photo for i in d["items"])]
assert len(found) == 2, "the hashtag and automatic-tag searches did not both find the photo"
users = [d for d in pages if d.get("type") == "users"]
assert users and users[-1]["items"][0]["username"] == "alice", "the user search did not find alice"
' "$photo" || { echo "FAIL: feed or search"; exit 1; }
echo "README session: 1 passed, 0 failed"
