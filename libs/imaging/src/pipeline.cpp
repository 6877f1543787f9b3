#include "pixhive/imaging/pipeline.hpp"

#include <chrono>
#include <cmath>

#include <opencv2/imgproc.hpp>

#include "pixhive/imaging/analysis.hpp"
#include "pixhive/imaging/limits.hpp"

namespace pixhive::imaging {

cv::Mat make_thumbnail(const cv::Mat& bgr, int size) {
  int side = std::min(bgr.cols, bgr.rows);
  cv::Mat square = bgr(cv::Rect((bgr.cols - side) / 2, (bgr.rows - side) / 2, side, side));
  cv::Mat out;
  cv::resize(square, out, cv::Size(size, size), 0, 0,
             side >= size ? cv::INTER_AREA : cv::INTER_CUBIC);
  return out;
}

namespace {

result<void> add_renditions(upload_result& out, const std::string& name, const cv::Mat& img,
                            const pipeline_config& cfg) {
  auto jpeg = encode(img, format::jpeg, cfg.jpeg_quality);
  if (!jpeg) return jpeg.error();
  auto webp = encode(img, format::webp, cfg.webp_quality);
  if (!webp) return webp.error();
  out.variants.push_back({name, std::move(*jpeg), "image/jpeg", img.cols, img.rows});
  out.variants.push_back({name + "-webp", std::move(*webp), "image/webp", img.cols, img.rows});
  return caf::unit;
}

}  // namespace

result<upload_result> process_upload(std::string_view bytes, const pipeline_config& cfg) {
  upload_result out;
  auto started = std::chrono::steady_clock::now();
  auto decoded = decode_to_fit(bytes, cfg.thumbnail_size, cfg.display_size);
  if (!decoded) return decoded.error();
  if (deadline_expired()) return timeout_error("the upload pipeline");
  out.decode_us = std::chrono::duration_cast<std::chrono::microseconds>(
                      std::chrono::steady_clock::now() - started)
                      .count();
  out.width = decoded->full_width;
  out.height = decoded->full_height;
  const cv::Mat& img = decoded->image;

  cv::Mat display = img;
  int long_side = std::max(img.cols, img.rows);
  if (long_side > cfg.display_size) {
    double s = double(cfg.display_size) / long_side;
    cv::resize(img, display, cv::Size(), s, s, cv::INTER_AREA);
  }
  if (auto r = add_renditions(out, "thumbnail", make_thumbnail(img, cfg.thumbnail_size), cfg); !r)
    return r.error();
  if (auto r = add_renditions(out, "display", display, cfg); !r) return r.error();

  // Analysis runs on the display copy: enough detail, a fraction of the pixels.
  for (const auto& c : dominant_colours(display))
    if (c.share >= 0.15) out.tags.push_back(c.name);
  auto faces = detect_faces(display);
  out.faces = static_cast<int>(faces.size());
  if (!faces.empty()) out.tags.push_back("face");
  if (faces.size() >= 2) out.tags.push_back("people");
  if (cfg.ocr && likely_has_text(display)) {
    std::vector<ocr_word> good;
    for (auto& w : recognise_text(display))
      if (w.confidence >= 60 && w.text.size() >= 2) good.push_back(std::move(w));
    if (deadline_expired()) return timeout_error("the upload pipeline");
    out.text = join_words(good);
    if (!out.text.empty()) out.tags.push_back("text");
  }
  out.hash = perceptual_hash(display);
  return out;
}

}  // namespace pixhive::imaging
