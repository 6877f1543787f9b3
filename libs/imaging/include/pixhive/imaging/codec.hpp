#pragma once

#include <string>
#include <string_view>

#include <opencv2/core.hpp>

#include "pixhive/core/error.hpp"

namespace pixhive::imaging {

/// Output encodings PixHive writes.
enum class format { png, jpeg, webp };

/// Parses "png" / "jpeg" / "jpg" / "webp".
result<format> parse_format(std::string_view name);
/// The canonical name ("png", "jpeg", "webp").
const char* to_string(format f);
/// The MIME type of a format.
const char* content_type(format f);
/// The format an Accept header asks for, PNG when it names none of ours.
format from_accept(std::string_view accept);

/// Decodes an image once as 8-bit BGR, applying its EXIF orientation, at 1/`reduction` scale
/// (JPEG shrinks in the DCT domain, so a reduced decode is also a faster one). Undecodable bytes
/// are 422 `undecodable_image`.
result<cv::Mat> decode(std::string_view bytes, int reduction = 1);

/// A decoded, oriented image and the oriented size of the image at full scale.
struct decoded {
  cv::Mat image;
  int full_width = 0;
  int full_height = 0;
};

/// Decodes at the smallest scale that leaves the shorter side at least `min_short` and the longer
/// side at least `min_long` (capped by the image): any of libjpeg-turbo's M/8 DCT scales for
/// JPEG, full size for other formats.
result<decoded> decode_to_fit(std::string_view bytes, int min_short, int min_long);

/// Encodes `image` (8-bit gray, BGR or BGRA); `quality` applies to JPEG and WebP.
result<std::string> encode(const cv::Mat& image, format f, int quality = 85);

}  // namespace pixhive::imaging
