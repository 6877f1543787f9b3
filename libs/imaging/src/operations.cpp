#include "pixhive/imaging/operations.hpp"

#include <algorithm>
#include <cmath>
#include <sstream>

#include <opencv2/imgproc.hpp>

#include "pixhive/core/json.hpp"
#include "pixhive/imaging/analysis.hpp"
#include "pixhive/imaging/limits.hpp"
#include "pixhive/imaging/models.hpp"

namespace pixhive::imaging {

namespace {

using nlohmann::json;

param_spec integer(std::string name, int min, int max, int def, std::string description,
                   bool odd = false) {
  return {std::move(name),       "integer", double(min), double(max), odd, {}, def,
          std::move(description)};
}

param_spec number(std::string name, double min, double max, double def, std::string description) {
  return {std::move(name), "number", min, max, false, {}, def, std::move(description)};
}

param_spec boolean(std::string name, bool def, std::string description) {
  return {std::move(name), "boolean", 0, 0, false, {}, def, std::move(description)};
}

param_spec choice(std::string name, std::vector<std::string> values, std::string def,
                  std::string description) {
  return {std::move(name), "enum", 0, 0, false, std::move(values), def, std::move(description)};
}

std::vector<operation_spec> make_operations() {
  return {
      {"edge_detection",
       "Canny edges: white edge pixels on black",
       {number("threshold1", 0, 1000, 100, "lower hysteresis threshold"),
        number("threshold2", 0, 1000, 200, "upper hysteresis threshold"),
        integer("aperture", 3, 7, 3, "Sobel aperture size: 3, 5 or 7", true),
        boolean("l2_gradient", false, "use the exact L2 gradient magnitude")}},
      {"corner_detection",
       "Harris (or Shi-Tomasi) corners, marked with red circles",
       {choice("method", {"harris", "shi_tomasi"}, "harris", "corner measure"),
        integer("block_size", 2, 31, 2, "neighbourhood size"),
        integer("ksize", 1, 31, 3, "Sobel aperture (odd)", true),
        number("k", 0.01, 0.3, 0.04, "Harris free parameter"),
        number("threshold", 0.001, 1, 0.01,
               "share of the strongest response a corner must reach (quality level)"),
        integer("max_corners", 1, 10000, 500, "most corners reported")},
       true},
      {"gaussian_blur",
       "Gaussian blur",
       {integer("kernel", 1, 99, 5, "kernel size (odd)", true),
        number("sigma", 0, 100, 0, "standard deviation; 0 derives it from the kernel")}},
      {"median_blur", "Median blur", {integer("kernel", 1, 99, 5, "kernel size (odd)", true)}},
      {"fourier_transform",
       "Centred log-magnitude spectrum of the grey image, normalised to 8 bits",
       {}},
      {"contrast_enhancement",
       "Histogram equalisation",
       {choice("mode", {"gray", "luma", "clahe"}, "luma",
               "gray: equalise a grey copy; luma: equalise brightness, keep colour; clahe: "
               "contrast-limited adaptive equalisation of brightness, keep colour"),
        number("clip_limit", 0.1, 40, 2, "CLAHE contrast limit"),
        integer("tile", 1, 64, 8, "CLAHE tiles per side")}},
      {"invert", "Negative image", {}},
      {"grayscale", "Grey image", {}},
      {"resize",
       "Scale to a width and/or height",
       {integer("width", 0, 16384, 0, "target width; 0 follows the height"),
        integer("height", 0, 16384, 0, "target height; 0 follows the width"),
        boolean("keep_aspect", true, "fit inside width×height keeping the aspect ratio"),
        choice("interpolation", {"area", "linear", "cubic", "lanczos"}, "area",
               "resampling filter")}},
      {"rotate",
       "Rotate counter-clockwise by an angle in degrees",
       {number("angle", -360, 360, 90, "degrees, counter-clockwise"),
        boolean("expand", true, "grow the canvas so that nothing is cut off")}},
      {"background_removal",
       "cuts people out with a segmentation network when a person is detected, otherwise GrabCut "
       "around a rectangle; the background becomes transparent",
       {choice("method", {"auto", "person", "grabcut"}, "auto",
               "auto: person segmentation when NanoDet sees a person and no rectangle is given, "
               "else GrabCut"),
        integer("x", 0, 100000, 0, "rectangle left; 0,0,0,0 means a 5% margin on every side"),
        integer("y", 0, 100000, 0, "rectangle top"),
        integer("width", 0, 100000, 0, "rectangle width"),
        integer("height", 0, 100000, 0, "rectangle height"),
        integer("iterations", 1, 10, 3, "GrabCut iterations")},
       false,
       true},
      {"text_detection",
       "Tesseract OCR: the text, word boxes and confidences, and an annotated image",
       {choice("language", {"eng"}, "eng", "language data (tesseract-ocr-<language>)"),
        integer("psm", 3, 13, 3, "Tesseract page segmentation mode"),
        number("min_confidence", 0, 100, 0, "words below this confidence are dropped")},
       true},
  };
}

caf::error bad_param(const std::string& op, const param_spec& p) {
  std::ostringstream why;
  why << "parameter '" << p.name << "' of " << op << " must be ";
  if (p.type == "boolean") {
    why << "true or false";
  } else if (p.type == "enum") {
    why << "one of";
    for (size_t i = 0; i < p.values.size(); ++i) why << (i ? ", " : " ") << p.values[i];
  } else {
    why << (p.odd                 ? "an odd "
            : p.type == "integer" ? "an "
                                  : "a ")
        << p.type << " in [" << p.min << ", " << p.max << "]";
  }
  return make_error(errc::invalid_argument, "invalid_parameter", why.str());
}

double num(const json& params, const char* name) {
  return params.at(name).get<double>();
}
int integer_of(const json& params, const char* name) {
  return params.at(name).get<int>();
}

cv::Mat to_gray(const cv::Mat& bgr) {
  cv::Mat g;
  cv::cvtColor(bgr, g, cv::COLOR_BGR2GRAY);
  return g;
}

op_output edge_detection(const cv::Mat& in, const json& p) {
  cv::Mat edges;
  cv::Canny(to_gray(in), edges, num(p, "threshold1"), num(p, "threshold2"),
            integer_of(p, "aperture"), p.at("l2_gradient").get<bool>());
  return {edges, {}};
}

op_output corner_detection(const cv::Mat& in, const json& p) {
  auto gray = to_gray(in);
  bool harris = p.at("method") == "harris";
  std::vector<cv::Point2f> corners;
  cv::goodFeaturesToTrack(gray, corners, integer_of(p, "max_corners"), num(p, "threshold"),
                          /*minDistance=*/std::max(3, integer_of(p, "block_size")), cv::noArray(),
                          integer_of(p, "block_size"), integer_of(p, "ksize"), harris, num(p, "k"));
  cv::Mat out = in.clone();
  json points = json::array();
  int radius = std::max(3, std::min(in.cols, in.rows) / 100);
  for (const auto& c : corners) {
    cv::circle(out, c, radius, cv::Scalar(0, 0, 255), std::max(1, radius / 3), cv::LINE_AA);
    points.push_back({{"x", c.x}, {"y", c.y}});
  }
  return {out, {{"count", corners.size()}, {"corners", points}}};
}

op_output gaussian_blur(const cv::Mat& in, const json& p) {
  cv::Mat out;
  int k = integer_of(p, "kernel");
  cv::GaussianBlur(in, out, cv::Size(k, k), num(p, "sigma"));
  return {out, {}};
}

op_output median_blur(const cv::Mat& in, const json& p) {
  cv::Mat out;
  cv::medianBlur(in, out, integer_of(p, "kernel"));
  return {out, {}};
}

op_output fourier_transform(const cv::Mat& in, const json&) {
  cv::Mat gray = to_gray(in), padded;
  int rows = cv::getOptimalDFTSize(gray.rows), cols = cv::getOptimalDFTSize(gray.cols);
  cv::copyMakeBorder(gray, padded, 0, rows - gray.rows, 0, cols - gray.cols, cv::BORDER_CONSTANT,
                     cv::Scalar::all(0));
  cv::Mat planes[] = {cv::Mat_<float>(padded), cv::Mat::zeros(padded.size(), CV_32F)};
  cv::Mat complex;
  cv::merge(planes, 2, complex);
  cv::dft(complex, complex);
  cv::split(complex, planes);
  cv::Mat mag;
  cv::magnitude(planes[0], planes[1], mag);
  mag += cv::Scalar::all(1);
  cv::log(mag, mag);
  mag = mag(cv::Rect(0, 0, mag.cols & -2, mag.rows & -2));
  // Swap quadrants so that the zero frequency sits in the centre.
  int cx = mag.cols / 2, cy = mag.rows / 2;
  cv::Mat q0(mag, cv::Rect(0, 0, cx, cy)), q1(mag, cv::Rect(cx, 0, cx, cy)),
      q2(mag, cv::Rect(0, cy, cx, cy)), q3(mag, cv::Rect(cx, cy, cx, cy)), tmp;
  q0.copyTo(tmp);
  q3.copyTo(q0);
  tmp.copyTo(q3);
  q1.copyTo(tmp);
  q2.copyTo(q1);
  tmp.copyTo(q2);
  cv::Mat out;
  cv::normalize(mag, out, 0, 255, cv::NORM_MINMAX, CV_8U);
  return {out, {}};
}

op_output contrast_enhancement(const cv::Mat& in, const json& p) {
  auto mode = p.at("mode").get<std::string>();
  if (mode == "gray") {
    cv::Mat out;
    cv::equalizeHist(to_gray(in), out);
    return {out, {}};
  }
  cv::Mat ycc;
  cv::cvtColor(in, ycc, cv::COLOR_BGR2YCrCb);
  std::vector<cv::Mat> ch;
  cv::split(ycc, ch);
  if (mode == "luma") {
    cv::equalizeHist(ch[0], ch[0]);
  } else {
    int t = integer_of(p, "tile");
    cv::createCLAHE(num(p, "clip_limit"), cv::Size(t, t))->apply(ch[0], ch[0]);
  }
  cv::merge(ch, ycc);
  cv::Mat out;
  cv::cvtColor(ycc, out, cv::COLOR_YCrCb2BGR);
  return {out, {}};
}

result<op_output> resize(const cv::Mat& in, const json& p) {
  int w = integer_of(p, "width"), h = integer_of(p, "height");
  if (w == 0 && h == 0)
    return make_error(errc::invalid_argument, "invalid_parameter",
                      "resize needs 'width' or 'height' (integers in [1, 16384])");
  double sx = w ? double(w) / in.cols : double(h) / in.rows;
  double sy = h ? double(h) / in.rows : sx;
  if (!w) sx = sy;
  if (p.at("keep_aspect").get<bool>()) sx = sy = std::min(sx, sy);
  int out_w = std::max(1, int(std::lround(in.cols * sx)));
  int out_h = std::max(1, int(std::lround(in.rows * sy)));
  if (!p.at("keep_aspect").get<bool>()) {
    out_w = w ? w : out_w;
    out_h = h ? h : out_h;
  }
  if (double(out_w) * out_h > 100e6)
    return make_error(errc::invalid_argument, "invalid_parameter",
                      "resize result must be at most 100 megapixels");
  static const std::map<std::string, int> filters{{"area", cv::INTER_AREA},
                                                  {"linear", cv::INTER_LINEAR},
                                                  {"cubic", cv::INTER_CUBIC},
                                                  {"lanczos", cv::INTER_LANCZOS4}};
  int filter = filters.at(p.at("interpolation").get<std::string>());
  // Area averaging only makes sense for shrinking.
  if (filter == cv::INTER_AREA && (out_w > in.cols || out_h > in.rows)) filter = cv::INTER_LINEAR;
  cv::Mat out;
  cv::resize(in, out, cv::Size(out_w, out_h), 0, 0, filter);
  return op_output{out, {}};
}

op_output rotate(const cv::Mat& in, const json& p) {
  double angle = std::fmod(num(p, "angle") + 720.0, 360.0);
  cv::Mat out;
  // Right angles are exact pixel moves, no resampling.
  if (angle == 0) return {in.clone(), {}};
  if (angle == 90) cv::rotate(in, out, cv::ROTATE_90_COUNTERCLOCKWISE);
  if (angle == 180) cv::rotate(in, out, cv::ROTATE_180);
  if (angle == 270) cv::rotate(in, out, cv::ROTATE_90_CLOCKWISE);
  if (!out.empty()) return {out, {}};
  cv::Point2f centre(in.cols / 2.0f, in.rows / 2.0f);
  cv::Mat m = cv::getRotationMatrix2D(centre, angle, 1.0);
  cv::Size size = in.size();
  if (p.at("expand").get<bool>()) {
    auto box = cv::RotatedRect(cv::Point2f(), in.size(), float(angle)).boundingRect2f();
    m.at<double>(0, 2) += box.width / 2.0 - centre.x;
    m.at<double>(1, 2) += box.height / 2.0 - centre.y;
    size = cv::Size(int(std::ceil(box.width)), int(std::ceil(box.height)));
  }
  cv::warpAffine(in, out, m, size, cv::INTER_LINEAR, cv::BORDER_CONSTANT, cv::Scalar::all(0));
  return {out, {}};
}

/// The image with `alpha` as its fourth channel, and how much of it is kept.
op_output with_alpha(const cv::Mat& in, const cv::Mat& alpha, const char* method) {
  std::vector<cv::Mat> ch;
  cv::split(in, ch);
  ch.push_back(alpha);
  cv::Mat out;
  cv::merge(ch, out);
  double kept = cv::countNonZero(alpha > 127) / double(alpha.total());
  return op_output{out, {{"foreground_share", kept}, {"method", method}}};
}

/// True when NanoDet sees a person: the cut-out network then does better than GrabCut.
result<bool> has_person(const cv::Mat& in) {
  // NanoDet's input is 416 px: a copy of about that size keeps the resize cheap.
  cv::Mat small = in;
  double scale = 832.0 / std::max(in.cols, in.rows);
  if (scale < 1.0) cv::resize(in, small, cv::Size(), scale, scale, cv::INTER_AREA);
  auto found = detect_objects(small, 0.4f);
  if (!found) return found.error();
  return std::any_of(found->begin(), found->end(),
                     [](const detection& d) { return d.label == "person"; });
}

result<op_output> background_removal(const cv::Mat& in, const json& p) {
  auto method = p.at("method").get<std::string>();
  cv::Rect rect(integer_of(p, "x"), integer_of(p, "y"), integer_of(p, "width"),
                integer_of(p, "height"));
  // A rectangle given by hand asks for GrabCut around it.
  if (method == "auto" && rect.area() == 0) {
    auto person = has_person(in);
    if (!person) return person.error();
    method = *person ? "person" : "grabcut";
  }
  if (method == "person") {
    auto mask = person_mask(in);
    if (!mask) return mask.error();
    return with_alpha(in, *mask, "person");
  }
  if (rect.area() == 0) {
    int mx = std::max(1, in.cols / 20), my = std::max(1, in.rows / 20);
    rect = cv::Rect(mx, my, in.cols - 2 * mx, in.rows - 2 * my);
  }
  if (rect.width < 2 || rect.height < 2 || rect.x + rect.width > in.cols ||
      rect.y + rect.height > in.rows)
    return make_error(errc::invalid_argument, "invalid_parameter",
                      "background_removal rectangle must lie inside the " +
                          std::to_string(in.cols) + "x" + std::to_string(in.rows) + " image");
  // GrabCut's cost grows faster than the pixel count (seconds per megapixel): segment a copy of
  // at most 0.15 MP and scale the mask back up; edges stay within a few pixels.
  double scale = std::min(1.0, std::sqrt(150'000.0 / (double(in.cols) * in.rows)));
  cv::Mat small = in;
  cv::Rect r = rect;
  if (scale < 1.0) {
    cv::resize(in, small, cv::Size(), scale, scale, cv::INTER_AREA);
    r = cv::Rect(int(rect.x * scale), int(rect.y * scale), std::max(2, int(rect.width * scale)),
                 std::max(2, int(rect.height * scale))) &
        cv::Rect(0, 0, small.cols, small.rows);
  }
  cv::Mat mask(small.size(), CV_8U, cv::Scalar(cv::GC_BGD)), bgd, fgd;
  // One iteration per call (what grabCut's own loop does) so the deadline is seen between them.
  cv::grabCut(small, mask, r, bgd, fgd, 1, cv::GC_INIT_WITH_RECT);
  for (int i = 1; i < integer_of(p, "iterations"); ++i) {
    if (deadline_expired()) return timeout_error("background_removal");
    cv::grabCut(small, mask, r, bgd, fgd, 1, cv::GC_EVAL);
  }
  cv::Mat alpha = (mask == cv::GC_FGD) | (mask == cv::GC_PR_FGD);
  if (scale < 1.0) cv::resize(alpha, alpha, in.size(), 0, 0, cv::INTER_LINEAR);
  return with_alpha(in, alpha, "grabcut");
}

result<op_output> text_detection(const cv::Mat& in, const json& p) {
  auto words = recognise_text(in, p.at("language").get<std::string>(), integer_of(p, "psm"));
  if (deadline_expired()) return timeout_error("text_detection");
  double min_conf = num(p, "min_confidence");
  cv::Mat out = in.clone();
  json list = json::array();
  std::vector<ocr_word> kept;
  for (auto& w : words) {
    if (w.confidence < min_conf) continue;
    cv::rectangle(out, w.box, cv::Scalar(0, 200, 0), 2);
    list.push_back(
        {{"text", w.text},
         {"confidence", w.confidence},
         {"box",
          {{"x", w.box.x}, {"y", w.box.y}, {"width", w.box.width}, {"height", w.box.height}}}});
    kept.push_back(w);
  }
  return op_output{out, {{"text", join_words(kept)}, {"words", list}}};
}

}  // namespace

const std::vector<operation_spec>& operations() {
  static const auto all = make_operations();
  return all;
}

const operation_spec* find_operation(const std::string& name) {
  for (const auto& op : operations())
    if (op.name == name) return &op;
  return nullptr;
}

nlohmann::json operations_json() {
  json list = json::array();
  for (const auto& op : operations()) {
    json params = json::array();
    for (const auto& p : op.params) {
      json j{{"name", p.name},
             {"type", p.type},
             {"default", p.default_value},
             {"description", p.description}};
      if (p.type == "integer" || p.type == "number") {
        j["minimum"] = p.type == "integer" ? json(int64_t(p.min)) : json(p.min);
        j["maximum"] = p.type == "integer" ? json(int64_t(p.max)) : json(p.max);
      }
      if (p.odd) j["odd"] = true;
      if (p.type == "enum") j["values"] = p.values;
      params.push_back(std::move(j));
    }
    json item{{"name", op.name}, {"description", op.description}, {"params", params}};
    item["output"] = op.has_alpha ? "image with alpha (png or webp)" : "image";
    if (op.name == "text_detection") item["output"] = "json, or the annotated image";
    list.push_back(std::move(item));
  }
  return {{"operations", list}};
}

result<nlohmann::json> validate(const std::string& operation, const nlohmann::json& params) {
  const auto* op = find_operation(operation);
  if (!op) {
    std::string names;
    for (const auto& o : operations()) names += (names.empty() ? "" : ", ") + o.name;
    return make_error(errc::invalid_argument, "unknown_operation",
                      "unknown operation '" + operation + "'; known: " + names);
  }
  if (!params.is_null() && !params.is_object())
    return make_error(errc::invalid_argument, "invalid_parameter", "params must be a JSON object");
  if (params.is_object())
    for (const auto& [name, v] : params.items()) {
      bool known = false;
      for (const auto& p : op->params) known = known || p.name == name;
      if (!known)
        return make_error(errc::invalid_argument, "invalid_parameter",
                          "unknown parameter '" + name + "' of " + operation);
    }
  json out = json::object();
  for (const auto& p : op->params) {
    json v = params.is_object() && params.contains(p.name) ? params.at(p.name) : p.default_value;
    if (p.type == "boolean") {
      if (!v.is_boolean()) return bad_param(operation, p);
    } else if (p.type == "enum") {
      if (!v.is_string() ||
          std::find(p.values.begin(), p.values.end(), v.get<std::string>()) == p.values.end())
        return bad_param(operation, p);
    } else {
      if (!v.is_number()) return bad_param(operation, p);
      double d = v.get<double>();
      if (!std::isfinite(d) || d < p.min || d > p.max) return bad_param(operation, p);
      if (p.type == "integer") {
        if (d != std::floor(d)) return bad_param(operation, p);
        if (p.odd && static_cast<int64_t>(d) % 2 == 0) return bad_param(operation, p);
        v = static_cast<int64_t>(d);
      } else {
        v = d;
      }
    }
    out[p.name] = std::move(v);
  }
  return out;
}

int decode_reduction(const std::string& operation, const nlohmann::json& params, int width,
                     int height) {
  if (operation != "resize" || !params.is_object()) return 1;
  int wanted = std::max(params.value("width", 0), params.value("height", 0));
  if (wanted <= 0) return 1;
  for (int r : {8, 4, 2})
    if (std::min(width, height) / r >= wanted) return r;
  return 1;
}

result<op_output> apply(const std::string& operation, const cv::Mat& input,
                        const nlohmann::json& params) {
  if (input.empty() || input.type() != CV_8UC3)
    return make_error(errc::internal, "bad_input", "operations take 8-bit BGR images");
  try {
    if (operation == "edge_detection") return edge_detection(input, params);
    if (operation == "corner_detection") return corner_detection(input, params);
    if (operation == "gaussian_blur") return gaussian_blur(input, params);
    if (operation == "median_blur") return median_blur(input, params);
    if (operation == "fourier_transform") return fourier_transform(input, params);
    if (operation == "contrast_enhancement") return contrast_enhancement(input, params);
    if (operation == "invert") {
      cv::Mat out;
      cv::bitwise_not(input, out);
      return op_output{out, {}};
    }
    if (operation == "grayscale") return op_output{to_gray(input), {}};
    if (operation == "resize") return resize(input, params);
    if (operation == "rotate") return rotate(input, params);
    if (operation == "background_removal") return background_removal(input, params);
    if (operation == "text_detection") return text_detection(input, params);
  } catch (const cv::Exception& e) {
    return make_error(errc::unprocessable, "operation_failed",
                      operation + " failed on this image: " + e.what());
  } catch (const nlohmann::json::exception& e) {
    return make_error(errc::invalid_argument, "invalid_parameter",
                      "parameters of " + operation + " were not validated: " + e.what());
  }
  return make_error(errc::invalid_argument, "unknown_operation",
                    "unknown operation '" + operation + "'");
}

}  // namespace pixhive::imaging

namespace pixhive::imaging {

result<nlohmann::json> validate_text(const std::string& operation, std::string_view params) {
  if (params.empty()) return validate(operation, nullptr);
  auto parsed = parse_json(params);
  if (!parsed) {
    if (to_problem(parsed.error()).code == "json_too_deep") return parsed.error();
    return make_error(errc::invalid_argument, "invalid_parameter", "params must be a JSON object");
  }
  return validate(operation, *parsed);
}

}  // namespace pixhive::imaging
