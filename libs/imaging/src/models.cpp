#include "pixhive/imaging/models.hpp"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <iterator>
#include <map>
#include <numeric>

#include <opencv2/dnn.hpp>
#include <opencv2/imgproc.hpp>

#include "pixhive/core/crypto.hpp"
#include "pixhive/core/log.hpp"

namespace pixhive::imaging {

namespace {

struct model_file {
  const char* name;
  const char* sha256;
};

/// The files scripts/fetch-models makes and their SHA-256, from scripts/models/SHA256SUMS.
constexpr model_file model_files[] = {
#include "model_sums.inc"
};

/// Set once at start-up, before any worker runs a network.
std::string& model_dir() {
  static std::string dir;
  return dir;
}

caf::error model_error(const std::string& code, const std::string& message) {
  return make_error(errc::internal, code, message);
}

result<cv::dnn::Net> read_net(const std::string& path, const std::string& bytes) {
  try {
    auto net = cv::dnn::readNetFromONNX(bytes.data(), bytes.size());
    if (net.empty()) return model_error("model_unreadable", "cv::dnn cannot load " + path);
    net.setPreferableBackend(cv::dnn::DNN_BACKEND_OPENCV);
    net.setPreferableTarget(cv::dnn::DNN_TARGET_CPU);
    return net;
  } catch (const cv::Exception& e) {
    return model_error("model_unreadable", "cv::dnn cannot load " + path + ": " + e.what());
  }
}

result<std::string> read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in)
    return model_error("model_missing", "model file " + path +
                                            " is missing: run scripts/fetch-models (or point "
                                            "--models at the folder that holds it)");
  return std::string(std::istreambuf_iterator<char>(in), {});
}

/// This thread's copy of a network: a cv::dnn::Net holds its activations, so threads cannot
/// share one. Loaded on first use from the folder use_models() checked.
result<cv::dnn::Net*> net(const std::string& name) {
  thread_local std::map<std::string, cv::dnn::Net> nets;
  auto it = nets.find(name);
  if (it == nets.end()) {
    if (model_dir().empty())
      return make_error(errc::unavailable, "models_not_loaded", "the networks are not loaded");
    auto path = model_dir() + "/" + name;
    auto bytes = read_file(path);
    if (!bytes) return bytes.error();
    auto loaded = read_net(path, *bytes);
    if (!loaded) return loaded.error();
    it = nets.emplace(name, std::move(*loaded)).first;
  }
  return &it->second;
}

float sigmoid(float x) {
  return 1.0f / (1.0f + std::exp(-std::clamp(x, -80.0f, 80.0f)));
}

/// Keeps the most confident of overlapping boxes, per label; most confident first.
std::vector<detection> suppress(std::vector<detection> found, float min_confidence, float iou) {
  std::map<std::string, std::vector<size_t>> by_label;
  for (size_t i = 0; i < found.size(); ++i) by_label[found[i].label].push_back(i);
  std::vector<detection> out;
  for (auto& [label, members] : by_label) {
    std::vector<cv::Rect> boxes;
    std::vector<float> scores;
    for (auto i : members) {
      boxes.push_back(found[i].box);
      scores.push_back(found[i].confidence);
    }
    std::vector<int> keep;
    cv::dnn::NMSBoxes(boxes, scores, min_confidence, iou, keep);
    for (int k : keep) out.push_back(std::move(found[members[static_cast<size_t>(k)]]));
  }
  std::sort(out.begin(), out.end(),
            [](const detection& a, const detection& b) { return a.confidence > b.confidence; });
  return out;
}

result<std::vector<cv::Mat>> run(cv::dnn::Net& n, const cv::Mat& input) {
  try {
    n.setInput(input);
    std::vector<cv::Mat> outs;
    n.forward(outs, n.getUnconnectedOutLayersNames());
    return outs;
  } catch (const cv::Exception& e) {
    return make_error(errc::internal, "model_failed", std::string("network failed: ") + e.what());
  }
}

const char* const coco_labels[80] = {"person",        "bicycle",      "car",
                                     "motorcycle",    "airplane",     "bus",
                                     "train",         "truck",        "boat",
                                     "traffic light", "fire hydrant", "stop sign",
                                     "parking meter", "bench",        "bird",
                                     "cat",           "dog",          "horse",
                                     "sheep",         "cow",          "elephant",
                                     "bear",          "zebra",        "giraffe",
                                     "backpack",      "umbrella",     "handbag",
                                     "tie",           "suitcase",     "frisbee",
                                     "skis",          "snowboard",    "sports ball",
                                     "kite",          "baseball bat", "baseball glove",
                                     "skateboard",    "surfboard",    "tennis racket",
                                     "bottle",        "wine glass",   "cup",
                                     "fork",          "knife",        "spoon",
                                     "bowl",          "banana",       "apple",
                                     "sandwich",      "orange",       "broccoli",
                                     "carrot",        "hot dog",      "pizza",
                                     "donut",         "cake",         "chair",
                                     "couch",         "potted plant", "bed",
                                     "dining table",  "toilet",       "tv",
                                     "laptop",        "mouse",        "remote",
                                     "keyboard",      "cell phone",   "microwave",
                                     "oven",          "toaster",      "sink",
                                     "refrigerator",  "book",         "clock",
                                     "vase",          "scissors",     "teddy bear",
                                     "hair drier",    "toothbrush"};

}  // namespace

std::string default_model_dir() {
  return PIXHIVE_MODEL_DIR;
}

result<void> use_models(const std::string& dir) {
  for (const auto& m : model_files) {
    auto path = dir + "/" + m.name;
    auto bytes = read_file(path);
    if (!bytes) return bytes.error();
    auto sum = crypto::sha256_hex(*bytes);
    if (sum != m.sha256)
      return model_error("model_corrupt", "model file " + path + " is corrupt: SHA-256 " + sum +
                                              ", expected " + m.sha256 +
                                              "; run scripts/fetch-models again");
    if (auto n = read_net(path, *bytes); !n) return n.error();
  }
  model_dir() = dir;
  log::info("models_loaded", {{"dir", dir}, {"count", std::size(model_files)}});
  return caf::unit;
}

result<std::vector<detection>> detect_objects(const cv::Mat& bgr, float min_confidence) {
  auto n = net("nanodet.onnx");
  if (!n) return n.error();
  constexpr int side = 416;
  // Stretched to the input (how it was trained); an area resize first keeps small objects
  // (blobFromImage's own resize is bilinear). The converter folded NanoDet's per-channel scale
  // into its first convolution: only the mean is subtracted here.
  cv::Mat small;
  cv::resize(bgr, small, cv::Size(side, side), 0, 0, cv::INTER_AREA);
  cv::Mat blob = cv::dnn::blobFromImage(small, 1.0, cv::Size(), cv::Scalar(103.53, 116.28, 123.675),
                                        false, false);
  auto outs = run(**n, blob);
  if (!outs) return outs.error();
  const float min_logit = std::log(min_confidence / (1 - min_confidence));
  const double sx = double(bgr.cols) / side, sy = double(bgr.rows) / side;
  const cv::Rect frame(0, 0, bgr.cols, bgr.rows);
  constexpr int classes = 80, bins = 11;
  std::vector<detection> found;
  for (const auto& out : *outs) {
    // [1, 124, H, W]: 80 class logits, then 4 sides (left, top, right, bottom) × 11 bins of a
    // distance distribution, in units of the stride.
    if (out.dims != 4 || out.size[1] != classes + 4 * bins) continue;
    const int h = out.size[2], w = out.size[3], stride = side / h;
    const size_t plane = size_t(h) * w;
    const float* d = out.ptr<float>();
    for (int y = 0; y < h; ++y)
      for (int x = 0; x < w; ++x) {
        const size_t i = size_t(y) * w + x;
        float dist[4] = {0, 0, 0, 0};
        bool decoded = false;
        for (int c = 0; c < classes; ++c) {
          float logit = d[c * plane + i];
          if (logit < min_logit) continue;
          if (!decoded) {
            decoded = true;
            for (int s = 0; s < 4; ++s) {
              const float* bin = d + (classes + s * bins) * plane + i;
              float top = bin[0];
              for (int b = 1; b < bins; ++b) top = std::max(top, bin[b * plane]);
              float sum = 0, expect = 0;
              for (int b = 0; b < bins; ++b) {
                float e = std::exp(bin[b * plane] - top);
                sum += e;
                expect += e * b;
              }
              dist[s] = expect / sum * stride;
            }
          }
          float cx = (x + 0.5f) * stride, cy = (y + 0.5f) * stride;
          cv::Rect box(cv::Point(int((cx - dist[0]) * sx), int((cy - dist[1]) * sy)),
                       cv::Point(int((cx + dist[2]) * sx), int((cy + dist[3]) * sy)));
          box &= frame;
          if (box.area() > 0) found.push_back({coco_labels[c], sigmoid(logit), box});
        }
      }
  }
  return suppress(std::move(found), min_confidence, 0.6f);
}

result<explicit_scores> score_explicit(const cv::Mat& bgr) {
  auto n = net("nsfw.onnx");
  if (!n) return n.error();
  // Stretched to the input, not cropped: how the classifier was trained and published.
  auto outs = run(
      **n, cv::dnn::blobFromImage(bgr, 1 / 255.0, cv::Size(224, 224), cv::Scalar(), true, false));
  if (!outs) return outs.error();
  if (outs->size() != 1 || outs->front().total() != 5)
    return make_error(errc::internal, "model_failed", "nsfw.onnx: unexpected output shape");
  const float* p = outs->front().ptr<float>();
  return explicit_scores{p[0], p[1], p[2], p[3], p[4]};
}

result<std::vector<detection>> detect_faces(const cv::Mat& bgr, float min_confidence) {
  auto n = net("blazeface.onnx");
  if (!n) return n.error();
  constexpr int side = 256;
  // Letterboxed: the network saw undistorted faces in training.
  const double scale = double(side) / std::max(bgr.cols, bgr.rows);
  const int w = std::max(1, int(std::lround(bgr.cols * scale)));
  const int h = std::max(1, int(std::lround(bgr.rows * scale)));
  const int ox = (side - w) / 2, oy = (side - h) / 2;
  cv::Mat canvas(side, side, CV_8UC3, cv::Scalar::all(0)), small;
  cv::resize(bgr, small, cv::Size(w, h), 0, 0, cv::INTER_AREA);
  cv::cvtColor(small, canvas(cv::Rect(ox, oy, w, h)), cv::COLOR_BGR2RGB);
  // NHWC, RGB in [-1, 1], as the model takes it.
  cv::Mat input(std::vector<int>{1, side, side, 3}, CV_32F);
  cv::Mat pixels(side, side, CV_32FC3, input.ptr<float>());
  canvas.convertTo(pixels, CV_32F, 1 / 127.5, -1.0);
  auto outs = run(**n, input);
  if (!outs) return outs.error();
  // Two heads: 16×16 cells with 2 anchors (512) and 8×8 cells with 6 anchors (384), each with a
  // score [1, A, 1] and 16 regressors [1, A, 16] (box centre and size, then 6 key points).
  struct head {
    const cv::Mat* scores = nullptr;
    const cv::Mat* boxes = nullptr;
    int cells = 0;
    int anchors = 0;
  };
  head heads[2] = {{nullptr, nullptr, 16, 2}, {nullptr, nullptr, 8, 6}};
  for (const auto& o : *outs) {
    if (o.dims != 3) continue;
    for (auto& hd : heads)
      if (o.size[1] == hd.cells * hd.cells * hd.anchors)
        (o.size[2] == 1 ? hd.scores : hd.boxes) = &o;
  }
  const cv::Rect frame(0, 0, bgr.cols, bgr.rows);
  std::vector<detection> found;
  for (const auto& hd : heads) {
    if (!hd.scores || !hd.boxes)
      return make_error(errc::internal, "model_failed", "blazeface.onnx: unexpected outputs");
    const float* s = hd.scores->ptr<float>();
    const float* r = hd.boxes->ptr<float>();
    for (int i = 0; i < hd.cells * hd.cells * hd.anchors; ++i) {
      float score = sigmoid(s[i]);
      if (score < min_confidence) continue;
      const int cell = i / hd.anchors, cx = cell % hd.cells, cy = cell / hd.cells;
      const float* b = r + size_t(i) * 16;
      // In canvas pixels: anchor centre plus offset; then back through the letterbox.
      float x = (cx + 0.5f) / hd.cells * side + b[0], y = (cy + 0.5f) / hd.cells * side + b[1];
      float bw = b[2], bh = b[3];
      cv::Rect box(cv::Point(int((x - bw / 2 - ox) / scale), int((y - bh / 2 - oy) / scale)),
                   cv::Point(int((x + bw / 2 - ox) / scale), int((y + bh / 2 - oy) / scale)));
      box &= frame;
      if (box.area() > 0) found.push_back({"face", score, box});
    }
  }
  return suppress(std::move(found), min_confidence, 0.3f);
}

result<cv::Mat> person_mask(const cv::Mat& bgr) {
  auto n = net("selfie.onnx");
  if (!n) return n.error();
  constexpr int side = 256;
  auto outs = run(
      **n, cv::dnn::blobFromImage(bgr, 1 / 255.0, cv::Size(side, side), cv::Scalar(), true, false));
  if (!outs) return outs.error();
  if (outs->size() != 1 || outs->front().total() != size_t(side) * side)
    return make_error(errc::internal, "model_failed", "selfie.onnx: unexpected output shape");
  cv::Mat prob(side, side, CV_32F, outs->front().ptr<float>()), mask;
  prob.convertTo(mask, CV_8U, 255.0);
  cv::resize(mask, mask, bgr.size(), 0, 0, cv::INTER_LINEAR);
  return mask;
}

}  // namespace pixhive::imaging
