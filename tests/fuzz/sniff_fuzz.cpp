// Fuzzes the upload gate: sniff_image reads the format and size from the header, and whatever it
// accepts within the pixel budget goes to the real decoder, as uploads do. The decoder must never
// make an image larger than the sniffed size, since that size is what the pixel limit checks.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>

#include <opencv2/core.hpp>

#include "fuzz_check.hpp"
#include "pixhive/imaging/codec.hpp"
#include "pixhive/imaging/sniff.hpp"

namespace {

// Large enough for real headers, small enough that a decode cannot exhaust the fuzzer's memory.
constexpr int64_t max_pixels = 4'000'000;

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view bytes(reinterpret_cast<const char*>(data), size);
  auto info = pixhive::imaging::sniff_image(bytes);
  if (!info) return 0;
  check(info->width > 0 && info->height > 0, "accepted image has positive dimensions");
  check(!info->content_type.empty() && !info->format.empty(), "accepted image names its type");
  if (info->width > max_pixels || info->height > max_pixels ||
      info->width * info->height > max_pixels)
    return 0;
  auto image = pixhive::imaging::decode(bytes, 1);
  if (!image) return 0;
  check(image->type() == CV_8UC3, "decoded image is 8-bit BGR");
  check(int64_t(image->rows) * image->cols <= info->width * info->height,
        "decoded image is no larger than the sniffed size");
  if (info->format == "jpeg")
    for (int reduction : {2, 4, 8}) {
      auto reduced = pixhive::imaging::decode(bytes, reduction);
      if (reduced)
        check(int64_t(reduced->rows) * reduced->cols <= int64_t(image->rows) * image->cols,
              "a reduced decode is no larger than the full one");
    }
  return 0;
}
