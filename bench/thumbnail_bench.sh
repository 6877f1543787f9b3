#!/usr/bin/env bash
# Thumbnails of Debian's real camera JPEGs on every core: PixHive's decoder path (DCT-domain
# decode straight to the smallest DCT scale that covers 320 px, EXIF orientation, centre crop to
# 320x320, JPEG q85) next to vipsthumbnail
# (libvips-tools) making the same size and quality from the same files in the same run; then the
# whole upload pipeline (thumbnail + 1080 px display image, JPEG + WebP, tags, text test, hash).
# SSIM (luma) of both against a reference made from a full-size decode, centre square shrunk by
# area averaging. Run time: about 1 minute with the default 20 rounds.
#
#   bench/thumbnail_bench.sh [rounds=20]
source "$(dirname "$0")/lib.sh"
cmake --build --preset release --target imaging_bench >/dev/null
rounds="${1:-20}"
photos=$PWD/.cache/photos
cores=$(nproc)
files=("$photos"/*.jpg)
n=$(( ${#files[@]} * rounds ))
mkdir -p "$work/ours" "$work/vips"

ours=$(build/release/bench/imaging_bench thumbnails "$photos" "$rounds" "$cores" 320 85 "$work/ours")

# vipsthumbnail: one process per core, each with one vips thread, the file list split between them.
list=()
for r in $(seq 1 "$rounds"); do list+=("${files[@]}"); done
start=$(date +%s.%N)
for c in $(seq 0 $((cores - 1))); do
  part=()
  for ((i = c; i < ${#list[@]}; i += cores)); do part+=("${list[$i]}"); done
  VIPS_CONCURRENCY=1 vipsthumbnail --size 320x320 --smartcrop centre \
    -o "$work/vips/%s.jpg[Q=85]" "${part[@]}" &
done
wait
end=$(date +%s.%N)
vips=$(python3 -c "print($n / ($end - $start))")

read -r ssim_ours ssim_ours_low < <(build/release/bench/imaging_bench ssim "$photos" 320 "$work/ours")
read -r ssim_vips ssim_vips_low < <(build/release/bench/imaging_bench ssim "$photos" 320 "$work/vips")
pipeline=$(build/release/bench/imaging_bench pipeline "$photos" "$(( rounds / 4 + 1 ))" "$cores")
size() { python3 -c "import sys; d=open(sys.argv[1],'rb').read(); i=2
while i < len(d):
    m=d[i+1]; l=d[i+2]*256+d[i+3]
    if 0xC0<=m<=0xCF and m not in (0xC4,0xC8,0xCC): print(f'{d[i+7]*256+d[i+8]}x{d[i+5]*256+d[i+6]}'); break
    i+=2+l" "$1"; }
echo "thumbnails of ${#files[@]} camera JPEGs ($(size "${files[0]}") …) x $rounds rounds, $cores cores"
echo "  pixhive output $(size "$work/ours/0.jpg"), $(stat -c %s "$work/ours/0.jpg") bytes; vipsthumbnail output $(size "$(ls "$work"/vips/*.jpg | head -1)"), $(stat -c %s "$(ls "$work"/vips/*.jpg | head -1)") bytes"
python3 - "$ours" "$vips" "$pipeline" "$ssim_ours" "$ssim_ours_low" "$ssim_vips" "$ssim_vips_low" <<PY
import sys
ours, vips, pipe, so, sol, sv, svl = map(float, sys.argv[1:])
print(f"  pixhive thumbnail:  {ours:7.1f} images/s, SSIM {so:.4f} (lowest {sol:.4f})")
print(f"  vipsthumbnail:      {vips:7.1f} images/s, SSIM {sv:.4f} (lowest {svl:.4f})")
print(f"  pixhive/vips ratio: {ours / vips:.2f}")
print(f"  full upload pipeline (thumbnail + display, JPEG + WebP, tags, text test, hash): {pipe:.1f} images/s")
PY
