# Shared by the benchmark scripts (sourced): builds the release binary, makes a work folder that
# is removed on exit, and starts PixHive and nginx on free loopback ports.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap
cmake --preset release >/dev/null
cmake --build --preset release --target pixhive >/dev/null
bin=$PWD/build/release/apps/pixhive/pixhive

work=$(mktemp -d /tmp/pixhive-bench-XXXXXX)
pids=()
pixhive_pids=()
# Every PixHive the bench started reports its peak resident memory (VmHWM) when the bench ends.
report_memory() {
  for p in "${pixhive_pids[@]}"; do
    [ -r "/proc/$p/status" ] || continue
    echo "pixhive (pid $p) peak RSS: $(awk '/VmHWM/ {printf "%.0f MB", $2 / 1024}' "/proc/$p/status"), now $(awk '/VmRSS/ {printf "%.0f MB", $2 / 1024}' "/proc/$p/status")" >&2
  done
}
cleanup() {
  report_memory
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# start_pixhive USER [pixhive options…]: creates USER (password 'bench password'), starts PixHive
# all-in-one with the access log off (nginx logs nothing either), sets $port.
start_pixhive() {
  create_user "$1"
  shift
  launch_pixhive "$@"
}

# create_user USER: an account (password 'bench password'); makes the database and the token key.
create_user() {
  "$bin" admin create-user --data-dir "$work/data" --username "$1" --email "$1@example.com" \
    --password 'bench password' --log-level warn >/dev/null
}

# launch_pixhive [pixhive options…]: starts PixHive all-in-one on $work/data, sets $port and
# $mport (the metrics port). Rate limits are off: every benchmark client is one address.
launch_pixhive() {
  "$bin" --data-dir "$work/data" --port 0 --address 127.0.0.1 --access-log false \
    --rate-limits off "$@" 2>"$work/pixhive.log" &
  pids+=($!)
  pixhive_pids+=($!)
  port=""
  for _ in $(seq 1 300); do
    port=$(grep -o '"event":"listening".*' "$work/pixhive.log" | grep -o '"port":[0-9]*' | cut -d: -f2 || true)
    [ -n "$port" ] && break
    sleep 0.1
  done
  [ -n "$port" ] || { echo "pixhive did not start" >&2; cat "$work/pixhive.log" >&2; exit 1; }
  mport=$(grep -o '"event":"listening".*' "$work/pixhive.log" | grep -o '"metrics_port":[0-9]*' | cut -d: -f2)
}

# start_nginx ROOT CONTENT_TYPE PROBE_PATH: serves ROOT with 2 workers and no access log, sets $nport.
start_nginx() {
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
  server { listen 127.0.0.1:$nport; root $1; default_type $2; }
}
CONF
  nginx -c "$work/nginx.conf" -p "$work" &
  pids+=($!)
  for _ in $(seq 1 50); do curl -sf "http://127.0.0.1:$nport$3" -o /dev/null && return 0; sleep 0.1; done
  echo "nginx did not start" >&2
  exit 1
}

# wrk_rps FILE / wrk_pct FILE 50%: figures from a `wrk --latency` report.
wrk_rps() { awk '/Requests\/sec/ {print $2}' "$1"; }
wrk_pct() { awk -v p="$2" '$1==p {print $2}' "$1"; }
