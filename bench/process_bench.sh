#!/usr/bin/env bash
# POST /api/v1/process: PixHive against the kind of Python server it replaces, in one run.
# The comparison server is bench/compare/server.py (Flask + OpenCV under Debian's gunicorn, 2
# sync workers): the same decode, the same operations with the same defaults, one encode (PNG
# with OpenCV's default parameters; JPEG at PixHive's quality 85). It has no accounts and ignores the Authorization header.
#
# 1. On 1-megapixel camera photos (100 distinct crops of Debian's wallpaper photos, a different
#    one per request; PixHive's result cache is off, so it never answers), per operation, output
#    format (png, jpeg) and 20 and 50 concurrent clients: req/s, p50 and p99 of both servers,
#    their ratios (PixHive / Python), socket errors and non-2xx answers of both. Next to PixHive:
#    the compute bound (decode + operation + encode in-process by imaging_bench, every core
#    running images at once: images/s), the share of the machine's CPU that wrk itself used
#    (its user + system seconds / (run seconds x cores)), and the bound net of that share.
# 2. Repeated identical requests: 50 clients all POSTing the same photo with the same operation
#    (gaussian_blur, png) to PixHive restarted with its result cache on (the default size) and to
#    the Python server (which has none): req/s, ratio, non-2xx answers.
# Between runs each server is left to become idle (PixHive: no admitted request left; Python:
# /healthz answers within 0.1 s, i.e. the requests wrk left in gunicorn's backlog are done).
#
#   bench/process_bench.sh [seconds=10] [operation…]
#   OUT=bench/results/process.md bench/process_bench.sh    # also writes the tables as markdown
#
# Operations: edge_detection corner_detection gaussian_blur median_blur fourier_transform
# contrast_enhancement invert by default; also grayscale, resize, rotate (what the Python server
# implements). Run time, after the release build: operations x 2 formats x 2 client counts x 2
# servers x seconds, plus 2 x seconds, plus about 2.5 s per operation and format for the bounds
# and a few seconds of waits per run: about 11 minutes with the defaults, 1.5 minutes for
# `bench/process_bench.sh 2 gaussian_blur`. Both servers use every core: run nothing else.
out=${OUT:+$(realpath -m "$OUT")}  # before lib.sh changes to the repository's folder
source "$(dirname "$0")/lib.sh"
cmake --build --preset release --target imaging_bench >/dev/null
duration="${1:-10}"
shift || true
ops=("$@")
[ ${#ops[@]} -gt 0 ] || ops=(edge_detection corner_detection gaussian_blur median_blur
  fourier_transform contrast_enhancement invert)
for op in "${ops[@]}"; do
  case "$op" in
    edge_detection | corner_detection | gaussian_blur | median_blur | fourier_transform | \
      contrast_enhancement | invert | grayscale | resize | rotate) ;;
    *) echo "process_bench: bench/compare/server.py has no operation '$op'" >&2; exit 2 ;;
  esac
done
formats=(png jpeg)
clients=(20 50)
photos=$PWD/.cache/photos
cores=$(nproc)

# 100 distinct 1224x816 (1.0 MP) crops at full camera resolution.
mkdir -p "$work/mp"
i=0
for f in "$photos"/*.jpg; do
  for k in $(seq 0 19); do
    vips crop "$f" "$work/mp/$i.jpg[Q=90]" $(( (k * 149) % 2400 )) $(( (k * 97) % 1500 )) 1224 816
    echo "$work/mp/$i.jpg" >>"$work/list"
    i=$((i + 1))
  done
done

# The compute bounds first, with nothing else running.
for fmt in "${formats[@]}"; do
  build/release/bench/imaging_bench ops "$work/mp" "$fmt" "${ops[@]}" >"$work/bound-$fmt"
done

pixhive_opts=(--process-queue 1000 --processing-workers "$cores" --access-token-ttl 24h)
start_pixhive bench --result-cache-mb 0 "${pixhive_opts[@]}"
pixhive_pid=${pids[-1]}
base="http://127.0.0.1:$port"
login() {
  token=$(curl -sf "$base/api/v1/auth/login" -H 'Content-Type: application/json' \
    -d '{"login":"bench","password":"bench password"}' | sed -E 's/.*"access_token":"([^"]*)".*/\1/')
}
login

# The Python server: Debian's gunicorn (with Debian's /usr/bin/python3), 2 sync workers.
pyport=$(free_port)
/usr/bin/gunicorn -w 2 -b "127.0.0.1:$pyport" --chdir bench/compare server:app \
  2>"$work/gunicorn.log" &
pids+=($!)
pybase="http://127.0.0.1:$pyport"
for _ in $(seq 1 100); do curl -sf "$pybase/healthz" -o /dev/null && break; sleep 0.1; done
curl -sf "$pybase/healthz" -o /dev/null || {
  echo "the Python server did not start" >&2
  cat "$work/gunicorn.log" >&2
  exit 1
}

# Requests wrk gave up on still run in the servers: wait until they are idle again.
pixhive_idle() {
  for _ in $(seq 1 600); do
    curl -s "http://127.0.0.1:$mport/metrics" | grep -q '^pixhive_processing_adhoc_admitted 0' && return
    sleep 0.5
  done
}
python_idle() {
  local t
  for _ in $(seq 1 600); do
    t=$(curl -s -m 5 -o /dev/null -w '%{time_total}' "$pybase/healthz") || t=9
    awk -v t="$t" 'BEGIN { exit !(t < 0.1) }' && return
    sleep 0.2
  done
}

params_of() {
  case "$1" in
    resize) echo '{"width":512}' ;;
    rotate) echo '{"angle":30}' ;;
    *) echo '' ;;
  esac
}

# run_wrk NAME URL CLIENTS VAR=VALUE…: wrk with bench/process.lua (its settings in the VARs)
# under /usr/bin/time: the report in $work/NAME.wrk, "user system elapsed" seconds in NAME.time.
run_wrk() {
  local name=$1 url=$2 c=$3
  shift 3
  /usr/bin/time -f '%U %S %e' -o "$work/$name.time" env "$@" \
    wrk -t2 -c"$c" -d"${duration}s" --timeout 60s --latency -s bench/process.lua "$url" \
    >"$work/$name.wrk"
}

# Figures of a run: req/s, p50, p99 (as wrk prints them), socket errors, non-2xx answers, and
# wrk's share of the machine's CPU in percent.
rps_of() { wrk_rps "$work/$1.wrk"; }
p_of() { wrk_pct "$work/$1.wrk" "$2"; }
sockerr_of() {
  awk '/Socket errors/ { gsub(",", ""); n = $4 + $6 + $8 + $10 } END { print n + 0 }' "$work/$1.wrk"
}
non2xx_of() { awk '/Non-2xx or 3xx responses/ { n = $5 } END { print n + 0 }' "$work/$1.wrk"; }
wrkcpu_of() {
  tail -1 "$work/$1.time" | awk -v c="$cores" '{ printf "%.1f", 100 * ($1 + $2) / ($3 * c) }'
}
# ms "12.34ms" → 12.34 (wrk prints us, ms, s or m).
ms() {
  awk -v v="$1" 'BEGIN {
    n = v + 0; u = v; sub(/^[0-9.]+/, "", u)
    f = u == "us" ? 0.001 : u == "ms" ? 1 : u == "s" ? 1000 : u == "m" ? 60000 : 0
    print n * f }'
}
div() { awk -v a="$1" -v b="$2" -v f="${3:-%.2f}" 'BEGIN { if (b + 0 == 0) print "-"; else printf f "\n", a / b }'; }

md=$work/results.md
fmt_row="%-20s %-4s %3s | %7s %8s %8s %5s %7s %5s %5s | %7s %8s %8s | %6s %6s | %5s %5s\n"
{
  echo "POST /api/v1/process, 1 MP camera crops (a different one per request), $cores cores,"
  echo "${duration}s per run; PixHive's result cache off; Python: Flask + OpenCV, gunicorn -w 2 (sync)"
  printf "$fmt_row" operation fmt c "PH r/s" p50 p99 "wrk%" bound "/bnd" "/net" "Py r/s" p50 p99 \
    "r/s x" "p99 x" "PH er" "Py er"
}
{
  echo "## POST /api/v1/process: PixHive vs Python (Flask + OpenCV, gunicorn -w 2 sync)"
  echo
  echo "$(date -u +%F), commit $(git rev-parse --short HEAD), $cores cores, ${duration} s per run;"
  echo "1 MP camera crops, a different one per request; PixHive's result cache off."
  echo
  echo "| operation | format | clients | PixHive req/s | p50 | p99 | wrk CPU | bound | req/s ÷ bound | net bound ratio | Python req/s | p50 | p99 | req/s ratio | p99 ratio | PixHive sock err / non-2xx | Python sock err / non-2xx |"
  echo "|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|"
} >"$md"

for op in "${ops[@]}"; do
  for fmt in "${formats[@]}"; do
    ms_op=$(awk -v o="$op" '$1==o {print $2}' "$work/bound-$fmt")
    bound=$(awk -v c="$cores" -v m="$ms_op" 'BEGIN { printf "%.1f", c * 1000 / m }')
    for c in "${clients[@]}"; do
      common=(PHOTO_LIST="$work/list" OPERATION="$op" PARAMS="$(params_of "$op")" FORMAT="$fmt")
      ph=ph-$op-$fmt-$c py=py-$op-$fmt-$c
      run_wrk "$ph" "$base" "$c" "${common[@]}" TOKEN="$token"
      pixhive_idle
      run_wrk "$py" "$pybase" "$c" "${common[@]}" TOKEN=
      python_idle
      ph_rps=$(rps_of "$ph") py_rps=$(rps_of "$py")
      share=$(wrkcpu_of "$ph")
      net=$(awk -v b="$bound" -v s="$share" 'BEGIN { print b * (1 - s / 100) }')
      ph_err="$(sockerr_of "$ph")/$(non2xx_of "$ph")" py_err="$(sockerr_of "$py")/$(non2xx_of "$py")"
      cells=("$op" "$fmt" "$c" "$ph_rps" "$(p_of "$ph" 50%)" "$(p_of "$ph" 99%)" "$share%" "$bound"
        "$(div "$ph_rps" "$bound")" "$(div "$ph_rps" "$net")"
        "$py_rps" "$(p_of "$py" 50%)" "$(p_of "$py" 99%)"
        "$(div "$ph_rps" "$py_rps")" "$(div "$(ms "$(p_of "$ph" 99%)")" "$(ms "$(p_of "$py" 99%)")")"
        "$ph_err" "$py_err")
      # shellcheck disable=SC2059
      printf "$fmt_row" "${cells[@]}"
      (IFS='|'; echo "|${cells[*]}|") >>"$md"
    done
  done
done
cat <<'EOF'
bound = images/s of decode + operation + encode in-process with every core busy (imaging_bench);
wrk% = wrk's user+system CPU / (run seconds x cores); /net = r/s / (bound x (1 - wrk%)); r/s x
and p99 x = PixHive / Python; er = socket errors / non-2xx answers. The Python server's PNG is
OpenCV's default (Sub filter, zlib level 1, RLE); PixHive's is libdeflate level 1, Up filter.
EOF
{
  echo
  echo "bound: images/s of decode + operation + encode in-process with every core busy (imaging_bench);"
  echo "wrk CPU: wrk's user + system seconds / (run seconds × cores); net bound ratio: req/s ÷ (bound ×"
  echo "(1 − wrk CPU)); ratios: PixHive / Python. The Python server encodes PNG with OpenCV's defaults"
  echo "(Sub filter, zlib level 1, RLE strategy); PixHive with libdeflate (level 1, Up filter). Both"
  echo "write JPEG without optimised Huffman tables."
} >>"$md"

# 2. Repeated identical requests, PixHive with its result cache on.
report_memory
pixhive_pids=()
kill "$pixhive_pid"
wait "$pixhive_pid" 2>/dev/null || true
launch_pixhive "${pixhive_opts[@]}"
base="http://127.0.0.1:$port"
login
same=(PHOTO="$work/mp/0.jpg" OPERATION=gaussian_blur PARAMS= FORMAT=png)
run_wrk ph-same "$base" 50 "${same[@]}" TOKEN="$token"
pixhive_idle
run_wrk py-same "$pybase" 50 "${same[@]}" TOKEN=
python_idle
hits=$(curl -s "http://127.0.0.1:$mport/metrics" |
  awk '/^pixhive_processing_cache_hit_ratio/ { printf "%.3f", $2 }')
ph_rps=$(rps_of ph-same) py_rps=$(rps_of py-same)
echo
echo "Repeated identical requests: 50 clients, the same photo, gaussian_blur, png; PixHive's result"
echo "cache on (default size; hit ratio ${hits:-?}), the Python server has none"
printf "%-8s %9s %8s %8s %5s %6s %7s\n" server "r/s" p50 p99 "wrk%" sockerr non-2xx
for s in ph py; do
  name=$([ $s = ph ] && echo PixHive || echo Python)
  printf "%-8s %9s %8s %8s %5s %6s %7s\n" "$name" "$(rps_of $s-same)" "$(p_of $s-same 50%)" \
    "$(p_of $s-same 99%)" "$(wrkcpu_of $s-same)%" "$(sockerr_of $s-same)" "$(non2xx_of $s-same)"
done
echo "req/s ratio (PixHive / Python): $(div "$ph_rps" "$py_rps")"
{
  echo
  echo "### Repeated identical requests"
  echo
  echo "50 clients all POSTing the same photo, gaussian_blur, png, ${duration} s; PixHive's result cache"
  echo "on (default size; hit ratio ${hits:-?}), the Python server has none."
  echo
  echo "| server | req/s | p50 | p99 | wrk CPU | socket errors | non-2xx |"
  echo "|---|--:|--:|--:|--:|--:|--:|"
  for s in ph py; do
    name=$([ $s = ph ] && echo PixHive || echo Python)
    echo "| $name | $(rps_of $s-same) | $(p_of $s-same 50%) | $(p_of $s-same 99%) |" \
      "$(wrkcpu_of $s-same)% | $(sockerr_of $s-same) | $(non2xx_of $s-same) |"
  done
  echo
  echo "req/s ratio (PixHive / Python): $(div "$ph_rps" "$py_rps")"
} >>"$md"
if [ -n "$out" ]; then
  cp "$md" "$out"
  echo "written to $out"
fi
