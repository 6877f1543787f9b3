#pragma once

#include <string>
#include <vector>

#include <opencv2/core.hpp>

#include "pixhive/core/error.hpp"

namespace pixhive::imaging {

/// One thing a network found: a label, its confidence (0..1) and its box in image pixels.
struct detection {
  std::string label;
  float confidence = 0;
  cv::Rect box;
};

/// The five classes of the explicit-content classifier; they sum to 1.
struct explicit_scores {
  float drawing = 0;
  float hentai = 0;
  float neutral = 0;
  float porn = 0;
  float sexy = 0;
};

/// The folder scripts/fetch-models fills in this checkout (.cache/models).
std::string default_model_dir();

/// Checks that every network is in `dir` with the SHA-256 committed in scripts/models/SHA256SUMS
/// and that cv::dnn loads it; from then on the functions below load them from there, once per
/// thread. The error names the file and says how to get it. Call once at start-up.
result<void> use_models(const std::string& dir);

/// COCO objects found by NanoDet at its native 416×416, at least `min_confidence`, after
/// non-maximum suppression; most confident first.
result<std::vector<detection>> detect_objects(const cv::Mat& bgr, float min_confidence);

/// Explicit-content scores (the NSFW MobileNetV2 classifier at 224×224).
result<explicit_scores> score_explicit(const cv::Mat& bgr);

/// Faces found by BlazeFace (the 256×256 "back camera" model, letterboxed), most confident first
/// (0.75 by default: at 0.6 a dog's face passes.)
result<std::vector<detection>> detect_faces(const cv::Mat& bgr, float min_confidence = 0.75f);

/// Person probability per pixel (MediaPipe selfie segmentation at 256×256), CV_8U 0..255 at the
/// image's size.
result<cv::Mat> person_mask(const cv::Mat& bgr);

}  // namespace pixhive::imaging
