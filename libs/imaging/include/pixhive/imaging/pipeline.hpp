#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "pixhive/core/error.hpp"
#include "pixhive/imaging/codec.hpp"
#include "pixhive/imaging/models.hpp"

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
  /// Objects (NanoDet) at least this confident become tags.
  float object_threshold = 0.4f;
  /// Faces (BlazeFace) at least this confident are counted.
  float face_threshold = 0.75f;
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
  /// Automatic tags: dominant colour names, object labels, "face"/"people", "text".
  std::vector<std::string> tags;
  /// Objects found, boxes at full scale.
  std::vector<detection> objects;
  /// Faces found, boxes at full scale.
  std::vector<detection> faces;
  /// What the explicit-content classifier said.
  explicit_scores moderation;
  /// Text Tesseract found (empty when the text test failed or found nothing).
  std::string text;
  uint64_t hash = 0;
  /// Size after EXIF orientation, at full scale.
  int width = 0;
  int height = 0;
  /// Microseconds per step ("decode", "objects", "explicit", "faces", …) for the benchmarks.
  std::vector<std::pair<std::string, int64_t>> step_us;
};

/// Derives renditions, tags, objects, faces, explicit-content scores, text and a perceptual hash
/// from an uploaded image: decodes once, at the smallest scale that still covers the largest
/// output. Needs use_models() first.
result<upload_result> process_upload(std::string_view bytes, const pipeline_config& cfg);

/// The square centre-cropped thumbnail of a decoded image, as the pipeline makes it.
cv::Mat make_thumbnail(const cv::Mat& bgr, int size);

}  // namespace pixhive::imaging
