#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "pixhive/core/error.hpp"
#include "pixhive/imaging/codec.hpp"

namespace pixhive::imaging {

/// Settings of the upload pipeline.
struct pipeline_config {
  /// Side of the square thumbnail (centre crop).
  int thumbnail_size = 320;
  /// Longest side of the display image (never enlarged).
  int display_size = 1080;
  int jpeg_quality = 85;
  int webp_quality = 80;
  /// Run Tesseract when the cheap text test passes.
  bool ocr = true;
};

/// One stored rendition the pipeline made.
struct rendition {
  std::string name;  // "thumbnail", "thumbnail-webp", "display", "display-webp"
  std::string bytes;
  std::string content_type;
  int width = 0;
  int height = 0;
};

/// Everything the pipeline derived from an upload.
struct upload_result {
  std::vector<rendition> variants;
  /// Automatic tags: dominant colour names, "face"/"people", "text".
  std::vector<std::string> tags;
  /// Text Tesseract found (empty when the text test failed or found nothing).
  std::string text;
  uint64_t hash = 0;
  /// Size after EXIF orientation, at full scale.
  int width = 0;
  int height = 0;
  int faces = 0;
  /// Microseconds spent decoding, which the benchmarks report.
  int64_t decode_us = 0;
};

/// Derives renditions, tags, text and a perceptual hash from an uploaded image: decodes once, at
/// the smallest scale that still covers the largest output.
result<upload_result> process_upload(std::string_view bytes, const pipeline_config& cfg);

/// The square centre-cropped thumbnail of a decoded image, as the pipeline makes it.
cv::Mat make_thumbnail(const cv::Mat& bgr, int size);

}  // namespace pixhive::imaging
