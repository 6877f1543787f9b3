#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "pixhive/core/error.hpp"

namespace pixhive::imaging {

/// What the first bytes of an upload say it is.
struct image_info {
  std::string content_type;  // "image/jpeg", …
  std::string format;        // "jpeg", "png", "webp", "gif", "bmp", "tiff"
  int64_t width = 0;
  int64_t height = 0;
};

/// Identifies an image by its magic numbers (never by name or declared type) and reads its
/// dimensions from the header, without decoding. Not an accepted image → 415
/// `unsupported_media_type` naming what was detected ("detected PDF document"); a header that
/// is cut short or inconsistent, or a body missing its end marker → 422 `corrupt_image`.
result<image_info> sniff_image(std::string_view bytes);

}  // namespace pixhive::imaging
