#include "pixhive/imaging/analysis.hpp"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <vector>

#include <tesseract/baseapi.h>
#include <tesseract/ocrclass.h>
#include <opencv2/imgproc.hpp>

#include "pixhive/core/log.hpp"
#include "pixhive/imaging/limits.hpp"

namespace pixhive::imaging {

namespace {

/// A name for a colour, from its hue, saturation and value (OpenCV ranges: H 0..179).
std::string colour_name(const cv::Vec3b& bgr) {
  cv::Mat px(1, 1, CV_8UC3, cv::Scalar(bgr[0], bgr[1], bgr[2])), hsv;
  cv::cvtColor(px, hsv, cv::COLOR_BGR2HSV);
  auto v = hsv.at<cv::Vec3b>(0, 0);
  int h = v[0] * 2, s = v[1], val = v[2];
  if (val < 50) return "black";
  if (s < 40) return val > 200 ? "white" : "gray";
  if (h < 15 || h >= 345) return val < 140 && s > 100 ? "brown" : "red";
  if (h < 40) return val < 150 ? "brown" : "orange";
  if (h < 70) return "yellow";
  if (h < 165) return "green";
  if (h < 195) return "cyan";
  if (h < 255) return "blue";
  if (h < 290) return "purple";
  return "pink";
}

}  // namespace

std::vector<colour_share> dominant_colours(const cv::Mat& bgr, int k) {
  cv::Mat small;
  cv::resize(bgr, small, cv::Size(64, 64), 0, 0, cv::INTER_AREA);
  cv::Mat samples = small.reshape(1, static_cast<int>(small.total()));
  samples.convertTo(samples, CV_32F);
  cv::Mat labels, centres;
  // A fixed seed makes the tags of a photo the same on every run.
  cv::theRNG().state = 0x5eed;
  cv::kmeans(samples, k, labels,
             cv::TermCriteria(cv::TermCriteria::EPS + cv::TermCriteria::COUNT, 20, 1.0), 2,
             cv::KMEANS_PP_CENTERS, centres);
  std::vector<int> counts(k, 0);
  for (int i = 0; i < labels.rows; ++i) ++counts[labels.at<int>(i)];
  std::vector<colour_share> out;
  for (int c = 0; c < k; ++c) {
    cv::Vec3b v(cv::saturate_cast<uchar>(centres.at<float>(c, 0)),
                cv::saturate_cast<uchar>(centres.at<float>(c, 1)),
                cv::saturate_cast<uchar>(centres.at<float>(c, 2)));
    char hex[8];
    std::snprintf(hex, sizeof hex, "#%02x%02x%02x", v[2], v[1], v[0]);
    auto name = colour_name(v);
    double share = counts[c] / double(labels.rows);
    // Clusters with the same name are one colour to a person.
    auto same = std::find_if(out.begin(), out.end(), [&](auto& x) { return x.name == name; });
    if (same != out.end()) {
      same->share += share;
      continue;
    }
    out.push_back({name, hex, share});
  }
  std::sort(out.begin(), out.end(), [](auto& a, auto& b) { return a.share > b.share; });
  return out;
}

bool likely_has_text(const cv::Mat& bgr) {
  cv::Mat gray;
  cv::cvtColor(bgr, gray, cv::COLOR_BGR2GRAY);
  double scale = std::min(1.0, 800.0 / std::max(gray.cols, gray.rows));
  if (scale < 1.0) cv::resize(gray, gray, cv::Size(), scale, scale, cv::INTER_AREA);
  // Text is dense, short, high-contrast strokes: a morphological gradient shows them, a wide
  // closing joins the letters of a word (or a line) into one blob.
  cv::Mat grad, bw, joined;
  cv::morphologyEx(gray, grad, cv::MORPH_GRADIENT,
                   cv::getStructuringElement(cv::MORPH_ELLIPSE, cv::Size(3, 3)));
  cv::threshold(grad, bw, 0, 255, cv::THRESH_BINARY | cv::THRESH_OTSU);
  cv::morphologyEx(bw, joined, cv::MORPH_CLOSE,
                   cv::getStructuringElement(cv::MORPH_RECT, cv::Size(9, 1)));
  std::vector<std::vector<cv::Point>> contours;
  cv::findContours(joined, contours, cv::RETR_EXTERNAL, cv::CHAIN_APPROX_SIMPLE);
  // Foliage, fur and feathers make such blobs too. What sets a line of text apart: inside the
  // blob, three or more letters (or words) of about its height stand side by side on one
  // baseline. On the camera photos and sample photos of the tests this keeps Tesseract (20-25 ms
  // a photo that has no text) for the pictures with text (docs/performance.md).
  int lines = 0;
  cv::Mat labels, stats, centroids;
  for (const auto& c : contours) {
    auto r = cv::boundingRect(c);
    if (r.height < 8 || r.height > gray.rows / 2 || r.width < 2 * r.height) continue;
    cv::Mat blob = bw(r);
    double fill = cv::countNonZero(blob) / double(r.area());
    if (fill <= 0.1 || fill >= 0.9) continue;
    int n = cv::connectedComponentsWithStats(blob, labels, stats, centroids, 8);
    std::vector<int> bottoms;
    int widths = 0;
    for (int i = 1; i < n; ++i) {
      int h = stats.at<int>(i, cv::CC_STAT_HEIGHT), w = stats.at<int>(i, cv::CC_STAT_WIDTH);
      if (h < 0.35 * r.height || w < 0.1 * r.height) continue;
      bottoms.push_back(stats.at<int>(i, cv::CC_STAT_TOP) + h);
      widths += w;
    }
    if (bottoms.size() < 3) continue;
    // Side by side, not nested: together about as wide as the blob.
    double cover = widths / double(r.width);
    if (cover < 0.5 || cover > 1.2) continue;
    // One baseline: more than half of the bottoms lie close to their median.
    auto mid = bottoms.begin() + bottoms.size() / 2;
    std::nth_element(bottoms.begin(), mid, bottoms.end());
    const int median = *mid;
    auto close = std::count_if(bottoms.begin(), bottoms.end(),
                               [&](int b) { return std::abs(b - median) <= 0.12 * r.height; });
    if (size_t(close) > bottoms.size() / 2) ++lines;
  }
  return lines >= 2;
}

std::vector<ocr_word> recognise_text(const cv::Mat& bgr, const std::string& language,
                                     int page_segmentation) {
  // TessBaseAPI is not thread-safe and slow to initialise: one per thread and language.
  thread_local std::unique_ptr<tesseract::TessBaseAPI> api;
  thread_local std::string loaded;
  if (!api || loaded != language) {
    api = std::make_unique<tesseract::TessBaseAPI>();
    if (api->Init(nullptr, language.c_str(), tesseract::OEM_LSTM_ONLY) != 0) {
      api.reset();
      log::warn("tesseract_unavailable", {{"language", language}});
      return {};
    }
    loaded = language;
    // Tesseract prints diagnostics ("Empty page!!") to stderr, which would break JSON logs.
    api->SetVariable("debug_file", "/dev/null");
  }
  cv::Mat gray;
  cv::cvtColor(bgr, gray, cv::COLOR_BGR2GRAY);
  api->SetPageSegMode(static_cast<tesseract::PageSegMode>(page_segmentation));
  api->SetImage(gray.data, gray.cols, gray.rows, 1, static_cast<int>(gray.step));
  api->SetSourceResolution(300);
  std::vector<ocr_word> words;
  // Tesseract checks the monitor's deadline between steps and gives up when it has passed.
  tesseract::ETEXT_DESC monitor;
  if (auto at = current_deadline()) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                    *at - std::chrono::steady_clock::now())
                    .count();
    monitor.set_deadline_msecs(static_cast<int32_t>(std::clamp<int64_t>(left, 1, INT32_MAX)));
  }
  if (api->Recognize(&monitor) == 0 && !deadline_expired()) {
    std::unique_ptr<tesseract::ResultIterator> it{api->GetIterator()};
    if (it) do {
        std::unique_ptr<char[]> text{it->GetUTF8Text(tesseract::RIL_WORD)};
        if (!text) continue;
        std::string t(text.get());
        if (t.find_first_not_of(" \t\n") == std::string::npos) continue;
        int x1, y1, x2, y2;
        it->BoundingBox(tesseract::RIL_WORD, &x1, &y1, &x2, &y2);
        words.push_back(
            {t, it->Confidence(tesseract::RIL_WORD), cv::Rect(x1, y1, x2 - x1, y2 - y1)});
      } while (it->Next(tesseract::RIL_WORD));
  }
  api->Clear();
  return words;
}

std::string join_words(const std::vector<ocr_word>& words) {
  std::string out;
  for (size_t i = 0; i < words.size(); ++i) {
    if (i) {
      // A word that starts left of the previous one's start begins a new line.
      bool new_line = words[i].box.x < words[i - 1].box.x &&
                      words[i].box.y > words[i - 1].box.y + words[i - 1].box.height / 2;
      out += new_line ? '\n' : ' ';
    }
    out += words[i].text;
  }
  return out;
}

uint64_t perceptual_hash(const cv::Mat& bgr) {
  cv::Mat gray, small, f, freq;
  cv::cvtColor(bgr, gray, cv::COLOR_BGR2GRAY);
  cv::resize(gray, small, cv::Size(32, 32), 0, 0, cv::INTER_AREA);
  small.convertTo(f, CV_32F);
  cv::dct(f, freq);
  // The 8×8 lowest frequencies without the DC term, compared with their median.
  std::vector<float> low;
  for (int y = 0; y < 8; ++y)
    for (int x = 0; x < 8; ++x) low.push_back(freq.at<float>(y, x));
  std::vector<float> sorted(low.begin() + 1, low.end());
  std::nth_element(sorted.begin(), sorted.begin() + sorted.size() / 2, sorted.end());
  float median = sorted[sorted.size() / 2];
  uint64_t h = 0;
  for (int i = 0; i < 64; ++i)
    if (low[i] > median) h |= uint64_t(1) << i;
  return h;
}

}  // namespace pixhive::imaging
