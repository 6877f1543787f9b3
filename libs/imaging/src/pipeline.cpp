#include "pixhive/imaging/pipeline.hpp"

#include <algorithm>
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
  auto clock = std::chrono::steady_clock::now();
  // Each step's time goes into step_us, for the benchmarks' per-model figures.
  auto lap = [&](const char* step) {
    auto now = std::chrono::steady_clock::now();
    out.step_us.emplace_back(
        step, std::chrono::duration_cast<std::chrono::microseconds>(now - clock).count());
    clock = now;
  };
  auto decoded = decode_to_fit(bytes, cfg.thumbnail_size, cfg.display_size);
  if (!decoded) return decoded.error();
  if (deadline_expired()) return timeout_error("the upload pipeline");
  lap("decode");
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
  lap("renditions");

  // Analysis runs on the display copy (the networks' inputs are smaller still); boxes are
  // reported at full scale.
  const double to_full = double(out.width) / display.cols;
  auto at_full = [&](std::vector<detection> found) {
    for (auto& d : found)
      d.box = cv::Rect(int(d.box.x * to_full), int(d.box.y * to_full), int(d.box.width * to_full),
                       int(d.box.height * to_full));
    return found;
  };
  for (const auto& c : dominant_colours(display))
    if (c.share >= 0.15) out.tags.push_back(c.name);
  lap("colours");

  auto objects = detect_objects(display, cfg.object_threshold);
  if (!objects) return objects.error();
  int people = 0;
  for (auto& o : at_full(std::move(*objects))) {
    people += o.label == "person";
    if (std::find(out.tags.begin(), out.tags.end(), o.label) == out.tags.end())
      out.tags.push_back(o.label);
    out.objects.push_back(std::move(o));
  }
  lap("objects");
  if (deadline_expired()) return timeout_error("the upload pipeline");

  auto scores = score_explicit(display);
  if (!scores) return scores.error();
  out.moderation = *scores;
  lap("explicit");

  // A face comes with a person: on the photos without one (most of them: landscapes, things,
  // animals) the face detector's time is saved. Every face in the sample photos had its person
  // at 0.84 or more; the camera photos' doubtful persons (0.2-0.4) had none.
  if (people > 0) {
    auto faces = detect_faces(display, cfg.face_threshold);
    if (!faces) return faces.error();
    out.faces = at_full(std::move(*faces));
  }
  if (!out.faces.empty()) out.tags.push_back("face");
  if (out.faces.size() >= 2 || people >= 2) out.tags.push_back("people");
  lap("faces");

  if (cfg.ocr && likely_has_text(display)) {
    std::vector<ocr_word> good;
    for (auto& w : recognise_text(display))
      if (w.confidence >= 60 && w.text.size() >= 2) good.push_back(std::move(w));
    if (deadline_expired()) return timeout_error("the upload pipeline");
    out.text = join_words(good);
    if (!out.text.empty()) out.tags.push_back("text");
  }
  lap("text");
  out.hash = perceptual_hash(display);
  return out;
}

}  // namespace pixhive::imaging
