# shellcheck shell=bash
# Shared by tests/readme_session_test.sh (all-in-one server), tests/e2e/cluster_readme_test.sh
# (the split cluster behind its ingress) and tests/e2e/kube_play_test.sh (the chart under podman): extracting the README's curl session and checking what
# it printed. Source it; it defines functions only.

# Prints the README's curl session (the block between the curl-session markers) with
# localhost:8080 replaced by $2 (host:port).
readme_session_script() {
  local readme=$1 hostport=$2
  sed -n '/<!-- curl-session -->/,/<!-- \/curl-session -->/p' "$readme" | sed '/^```/d; /^<!--/d' |
    sed "s/localhost:8080/$hostport/g"
}

# Writes the README's session for host:port $2 to session.sh in the current folder, runs it,
# prints its output and checks it: returns 1 after printing the first failure, or 0.
readme_session_run() {
  local readme=$1 hostport=$2 out
  readme_session_script "$readme" "$hostport" >session.sh
  [ -s session.sh ] || { echo "no curl session found in the README"; return 1; }
  out=$(bash -e session.sh)
  echo "$out"
  readme_session_assertions "$out"
}

# Checks the output of the session ($1): prints the first failure and returns 1, or returns 0.
# The output goes to grep as a here-string, never through `echo | grep -q`: grep -q stops at the
# first match, and under pipefail echo's next write (SIGPIPE) would fail a passing check.
readme_session_assertions() {
  local out=$1 want got kind photo
  grep -q '"username":"alice","verified":true' <<<"$out" || { echo "FAIL: /users/me did not return verified alice"; return 1; }
  grep -q '"hashtags":\["macro"\]' <<<"$out" || { echo "FAIL: the photo's metadata was not shown"; return 1; }
  want=$(echo "$out" | grep -oE '[0-9a-f]{64}  \.cache/photos/string\.jpg' | cut -c1-64)
  got=$(echo "$out" | grep -oE '[0-9a-f]{64}  downloaded\.jpg' | cut -c1-64)
  if [ -z "$want" ] || [ "$want" != "$got" ]; then
    echo "FAIL: downloaded bytes differ ($want vs $got)"
    return 1
  fi
  grep -q '"status":"ready"' <<<"$out" || { echo "FAIL: the photo never became ready"; return 1; }
  grep -qE '"hash":"[0-9a-f]{16}"' <<<"$out" || { echo "FAIL: no perceptual hash"; return 1; }
  grep -qE '"tags":\["[a-z]' <<<"$out" || { echo "FAIL: no automatic tags"; return 1; }
  grep -q '"name":"display-webp"' <<<"$out" || { echo "FAIL: no display variant"; return 1; }
  grep -q '^200 image/jpeg$' <<<"$out" || { echo "FAIL: the thumbnail was not served"; return 1; }
  grep -q '^event: succeeded$' <<<"$out" || { echo "FAIL: the job's events did not end in succeeded"; return 1; }
  grep -q '^200 image/webp$' <<<"$out" || { echo "FAIL: POST /process did not answer a WebP"; return 1; }
  grep -q '"following":true' <<<"$out" || { echo "FAIL: bob does not follow alice"; return 1; }
  grep -q '"liked_by_me":true' <<<"$out" || { echo "FAIL: bob's like was not recorded"; return 1; }
  for kind in follow like comment photo_ready; do
    grep -q "\"kind\":\"$kind\"" <<<"$out" || { echo "FAIL: no $kind notification for alice"; return 1; }
  done
  photo=$(grep -m1 -oE '"original_url":"/api/v1/photos/[0-9]+/original"' <<<"$out" |
    sed -E 's|.*/photos/([0-9]+)/.*|\1|')
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
' "$photo" || { echo "FAIL: feed or search"; return 1; }
  return 0
}
