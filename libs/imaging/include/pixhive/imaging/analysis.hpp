#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <opencv2/core.hpp>

namespace pixhive::imaging {

/// A colour that covers a share of the picture, by name ("blue") and value.
struct colour_share {
  std::string name;
  std::string hex;
  double share = 0;
};

/// The dominant colours of a BGR image (k-means on a small copy), largest share first.
std::vector<colour_share> dominant_colours(const cv::Mat& bgr, int k = 4);

/// A cheap test for text, run before the expensive OCR: true when the picture has two or more
/// lines (blobs in which three or more letters or words of the blob's height share a baseline).
bool likely_has_text(const cv::Mat& bgr);

/// One recognised word.
struct ocr_word {
  std::string text;
  float confidence = 0;
  cv::Rect box;
};

/// Recognises text with Tesseract (`language` data from tesseract-ocr-<language>).
std::vector<ocr_word> recognise_text(const cv::Mat& bgr, const std::string& language = "eng",
                                     int page_segmentation = 3);

/// The words joined into lines of text, in reading order.
std::string join_words(const std::vector<ocr_word>& words);

/// A 64-bit perceptual hash (DCT of a 32×32 grey copy): similar pictures differ in few bits.
uint64_t perceptual_hash(const cv::Mat& bgr);

}  // namespace pixhive::imaging
