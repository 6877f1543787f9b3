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

/// Encodes `image` (8-bit gray, BGR or BGRA); `quality` applies to JPEG and WebP.
result<std::string> encode(const cv::Mat& image, format f, int quality = 85);

}  // namespace pixhive::imaging
