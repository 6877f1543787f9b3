#!/usr/bin/env bash
# POST /api/v1/process on 1-megapixel camera photos (100 distinct crops of Debian's wallpaper
# photos, a different one per request; the result cache is off, so it never answers), per
# operation at 20 and 50 concurrent clients: req/s, p50, p99, next to the compute bound (the
# single-core time of decode + operation + encode measured in-process, times the cores).
#
#   bench/process_bench.sh [seconds=10] [operation…]
source "$(dirname "$0")/lib.sh"
cmake --build --preset release --target imaging_bench >/dev/null
duration="${1:-10}"
shift || true
ops=("$@")
[ ${#ops[@]} -gt 0 ] || ops=(invert grayscale gaussian_blur median_blur edge_detection corner_detection
  fourier_transform contrast_enhancement resize rotate background_removal text_detection)
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

start_pixhive bench --result-cache-mb 0 --process-queue 1000 --processing-workers "$cores"
base="http://127.0.0.1:$port"
token=$(curl -sf "$base/api/v1/auth/login" -H 'Content-Type: application/json' \
  -d '{"login":"bench","password":"bench password"}' | sed -E 's/.*"access_token":"([^"]*)".*/\1/')

build/release/bench/imaging_bench ops "$work/mp" jpeg >"$work/bound"

params_of() {
  case "$1" in
    resize) echo '{"width":512}' ;;
    rotate) echo '{"angle":30}' ;;
    *) echo '' ;;
  esac
}
format_of() {
  case "$1" in
    text_detection) echo json ;;
    background_removal) echo png ;;
    *) echo jpeg ;;
  esac
}

echo "POST /process, 1 MP camera crops, $cores cores, ${duration}s per run, result cache off"
printf "%-21s %7s | %8s %8s %8s %6s | %8s %8s %8s %6s\n" operation "bound" "c=20 r/s" p50 p99 ratio \
  "c=50 r/s" p50 p99 ratio
for op in "${ops[@]}"; do
  ms=$(awk -v o="$op" '$1==o {print $2}' "$work/bound")
  bound=$(python3 -c "print(f'{$cores * 1000 / $ms:.1f}')")
  line=$(printf "%-21s %7s |" "$op" "$bound")
  for c in 20 50; do
    PHOTO_LIST="$work/list" TOKEN="$token" OPERATION="$op" PARAMS="$(params_of "$op")" \
      FORMAT="$(format_of "$op")" wrk -t2 -c$c -d"${duration}s" --timeout 60s --latency \
      -s bench/process.lua "$base" >"$work/$op-$c.wrk"
    if grep -qE "Non-2xx" "$work/$op-$c.wrk"; then grep -E "Non-2xx" "$work/$op-$c.wrk" >&2; fi
    rps=$(wrk_rps "$work/$op-$c.wrk")
    # Requests wrk gave up on still run in the server: wait until it is idle again.
    for _ in $(seq 1 600); do
      curl -s "http://127.0.0.1:$mport/metrics" | grep -q '^pixhive_processing_adhoc_admitted 0' && break
      sleep 0.5
    done
    line+=$(printf " %8s %8s %8s %6s |" "$rps" "$(wrk_pct "$work/$op-$c.wrk" 50%)" \
      "$(wrk_pct "$work/$op-$c.wrk" 99%)" "$(python3 -c "print(f'{$rps / $bound:.2f}')")")
  done
  echo "$line"
done
echo "bound = $cores cores x 1000 / (single-core ms of decode + operation + encode, in-process)"
