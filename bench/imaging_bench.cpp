// In-process imaging figures for the benchmark scripts:
//
//   imaging_bench thumbnails DIR ROUNDS THREADS SIZE QUALITY OUT
//     decode (reduced, oriented) + centre-crop SIZE×SIZE + JPEG at QUALITY for every *.jpg in DIR,
//     ROUNDS times, on THREADS threads; reads each file from disk every time (as vipsthumbnail
//     does) and writes the thumbnails to OUT. Prints images/s.
//   imaging_bench ssim DIR SIZE THUMBS
//     mean and lowest SSIM of the thumbnails in THUMBS (<index>.jpg as `thumbnails` names them,
//     or <name>.jpg as vipsthumbnail does) against a reference made from a full-size decode.
//   imaging_bench pipeline DIR ROUNDS THREADS
//     the whole upload pipeline (thumbnail + display in JPEG and WebP, colours, objects,
//     explicit-content scores, faces, OCR test, hash). Prints images/s, and on stderr the mean
//     milliseconds of each step (each network) per photo.
//   imaging_bench tags DIR
//     the objects (label, confidence), faces and explicit-content scores the upload pipeline
//     finds in every *.jpg of DIR.
//   imaging_bench ops DIR FORMAT [OPERATION…]
//     single-core milliseconds of decode + operation + encode per image, per operation (all, or
//     the ones named), with the parameters bench/process_bench.sh sends: the compute bound of
//     POST /process.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <latch>
#include <map>
#include <mutex>
#include <sstream>
#include <thread>

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "pixhive/core/memory.hpp"
#include "pixhive/imaging/codec.hpp"
#include "pixhive/imaging/limits.hpp"
#include "pixhive/imaging/models.hpp"
#include "pixhive/imaging/operations.hpp"
#include "pixhive/imaging/pipeline.hpp"

using namespace pixhive;
using clock_type = std::chrono::steady_clock;

namespace {

std::vector<std::string> jpegs(const std::string& dir) {
  std::vector<std::string> files;
  for (auto& e : std::filesystem::directory_iterator(dir))
    if (e.path().extension() == ".jpg") files.push_back(e.path().string());
  std::sort(files.begin(), files.end());
  return files;
}

std::string slurp(const std::string& path) {
  std::ifstream in{path, std::ios::binary};
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

constexpr size_t warm_up_index = static_cast<size_t>(-1);

/// Runs `work(file, index)` over files×rounds on `threads` threads; returns items per second.
/// With `warm_up`, each thread first runs `work(first file, warm_up_index)` untimed, as a
/// long-lived server worker has loaded its networks and Tesseract before the photos that count.
template <class Work>
double throughput(const std::vector<std::string>& files, int rounds, int threads, Work work,
                  bool warm_up = false) {
  std::atomic<size_t> next{0};
  size_t total = files.size() * static_cast<size_t>(rounds);
  std::latch ready{threads + 1};
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t)
    pool.emplace_back([&] {
      if (warm_up) work(files[0], warm_up_index);
      ready.arrive_and_wait();
      for (size_t i; (i = next++) < total;) work(files[i % files.size()], i);
    });
  ready.arrive_and_wait();
  auto start = clock_type::now();
  for (auto& t : pool) t.join();
  return total / std::chrono::duration<double>(clock_type::now() - start).count();
}

/// Structural similarity of two same-size images on their luma (Wang et al. 2004: 11×11 Gaussian
/// window, σ 1.5, K1 0.01, K2 0.03).
double ssim(const cv::Mat& a_bgr, const cv::Mat& b_bgr) {
  cv::Mat a, b;
  cv::cvtColor(a_bgr, a, cv::COLOR_BGR2GRAY);
  cv::cvtColor(b_bgr, b, cv::COLOR_BGR2GRAY);
  a.convertTo(a, CV_64F);
  b.convertTo(b, CV_64F);
  const double c1 = 6.5025, c2 = 58.5225;  // (0.01·255)², (0.03·255)²
  auto blur = [](const cv::Mat& m) {
    cv::Mat out;
    cv::GaussianBlur(m, out, cv::Size(11, 11), 1.5);
    return out;
  };
  cv::Mat mu_a = blur(a), mu_b = blur(b);
  cv::Mat mu_aa = mu_a.mul(mu_a), mu_bb = mu_b.mul(mu_b), mu_ab = mu_a.mul(mu_b);
  cv::Mat var_a = blur(a.mul(a)) - mu_aa, var_b = blur(b.mul(b)) - mu_bb;
  cv::Mat cov = blur(a.mul(b)) - mu_ab;
  cv::Mat num = (2 * mu_ab + c1).mul(2 * cov + c2);
  cv::Mat den = (mu_aa + mu_bb + c1).mul(var_a + var_b + c2);
  cv::Mat map;
  cv::divide(num, den, map);
  return cv::mean(map)[0];
}

/// The reference thumbnail: the whole image decoded at full size (oriented), the centre
/// square, shrunk by area averaging.
cv::Mat reference_thumbnail(const std::string& bytes, int size) {
  cv::Mat full = cv::imdecode(std::vector<uchar>(bytes.begin(), bytes.end()), cv::IMREAD_COLOR);
  int side = std::min(full.cols, full.rows);
  cv::Mat out;
  cv::resize(full(cv::Rect((full.cols - side) / 2, (full.rows - side) / 2, side, side)), out,
             cv::Size(size, size), 0, 0, cv::INTER_AREA);
  return out;
}

/// The parameters process_bench.sh sends with each operation.
nlohmann::json bench_params(const std::string& op) {
  if (op == "resize") return {{"width", 512}};
  if (op == "rotate") return {{"angle", 30}};
  return nullptr;
}

}  // namespace

int main(int argc, char** argv) {
  tune_allocator(argv);  // as the server does
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.size() == 7 && args[0] == "thumbnails") {
    auto files = jpegs(args[1]);
    int size = std::stoi(args[4]), quality = std::stoi(args[5]);
    auto out = args[6];
    auto rate = throughput(files, std::stoi(args[2]), std::stoi(args[3]), [&](auto& f, size_t i) {
      auto bytes = slurp(f);
      auto img = imaging::decode_to_fit(bytes, size, size);
      auto jpg = imaging::encode(imaging::make_thumbnail(img->image, size), imaging::format::jpeg,
                                 quality);
      std::ofstream{out + "/" + std::to_string(i % files.size()) + ".jpg", std::ios::binary}
          << *jpg;
    });
    std::cout << rate << "\n";
    return 0;
  }
  if (args.size() == 4 && args[0] == "ssim") {
    // SSIM of the thumbnails in args[3] (named <index>.jpg or <name>.jpg) against the reference.
    auto files = jpegs(args[1]);
    int size = std::stoi(args[2]);
    double sum = 0, low = 1;
    for (size_t i = 0; i < files.size(); ++i) {
      auto stem = std::filesystem::path(files[i]).stem().string();
      auto by_index = args[3] + "/" + std::to_string(i) + ".jpg";
      auto thumb =
          cv::imread(std::filesystem::exists(by_index) ? by_index : args[3] + "/" + stem + ".jpg");
      auto ref = reference_thumbnail(slurp(files[i]), size);
      if (thumb.size() != ref.size()) cv::resize(thumb, thumb, ref.size(), 0, 0, cv::INTER_AREA);
      double s = ssim(thumb, ref);
      sum += s;
      low = std::min(low, s);
    }
    std::cout << sum / files.size() << " " << low << "\n";
    return 0;
  }
  // OpenCV on the calling threads, as the processing service's workers run it.
  imaging::run_opencv_on_calling_threads();
  // The upload pipeline and background_removal run the networks, as the server does.
  if (!args.empty() && (args[0] == "pipeline" || args[0] == "ops" || args[0] == "tags"))
    if (auto m = imaging::use_models(imaging::default_model_dir()); !m) {
      std::cerr << to_problem(m.error()).message << "\n";
      return 1;
    }
  if (args.size() == 4 && args[0] == "pipeline") {
    auto files = jpegs(args[1]);
    std::mutex mtx;
    std::map<std::string, std::pair<double, int>> steps;  // total ms, count
    std::vector<std::string> order;
    auto rate = throughput(
        files, std::stoi(args[2]), std::stoi(args[3]),
        [&](auto& f, size_t index) {
          auto out = imaging::process_upload(slurp(f), {});
          if (!out || index == warm_up_index) return;
          std::lock_guard<std::mutex> guard{mtx};
          for (const auto& [step, us] : out->step_us) {
            if (!steps.count(step)) order.push_back(step);
            steps[step].first += us / 1000.0;
            steps[step].second += 1;
          }
        },
        true);
    std::cout << rate << "\n";
    for (const auto& step : order)
      std::cerr << "  " << step << ": " << steps[step].first / steps[step].second << " ms/photo\n";
    return 0;
  }
  if (args.size() == 2 && args[0] == "tags") {
    for (const auto& f : jpegs(args[1])) {
      auto out = imaging::process_upload(slurp(f), {});
      if (!out) continue;
      std::cout << std::filesystem::path(f).filename().string() << ":";
      for (const auto& o : out->objects) std::cout << " " << o.label << " " << o.confidence;
      std::cout << " | faces";
      for (const auto& o : out->faces) std::cout << " " << o.confidence;
      const auto& m = out->moderation;
      std::cout << " | drawing " << m.drawing << " hentai " << m.hentai << " neutral " << m.neutral
                << " porn " << m.porn << " sexy " << m.sexy;
      for (const auto& [step, us] : out->step_us)
        if (step == "text") std::cout << " | text " << us / 1000 << " ms: " << out->text;
      std::cout << "\n";
    }
    return 0;
  }
  if (args.size() >= 3 && args[0] == "ops") {
    auto files = jpegs(args[1]);
    std::vector<std::string> inputs;
    for (auto& f : files) inputs.push_back(slurp(f));
    std::vector<std::string> wanted(args.begin() + 3, args.end());
    for (const auto& op : imaging::operations()) {
      if (!wanted.empty() && std::find(wanted.begin(), wanted.end(), op.name) == wanted.end())
        continue;
      auto params = *imaging::validate(op.name, bench_params(op.name));
      // The image in the asked format, as the server encodes it (corners too: their data only
      // goes out as JSON when asked for).
      std::string format = args[2] == "json" ? "json" : op.has_alpha ? "png" : args[2];
      // A warm-up pass (Tesseract and network loading), then the timed pass.
      auto run = [&](const std::string& bytes) {
        auto img = imaging::decode(bytes);
        auto out = imaging::apply(op.name, *img, params);
        if (format == "json") return out->data.dump().size();
        return imaging::encode(out->image, *imaging::parse_format(format))->size();
      };
      run(inputs[0]);
      // Every core runs images at once, as the server's workers do, so OpenCV's own threads
      // compete as they do there; at least 2 seconds and 5 images per core.
      int cores = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
      std::atomic<size_t> n{0};
      auto start = clock_type::now();
      std::vector<std::thread> pool;
      for (int t = 0; t < cores; ++t)
        pool.emplace_back([&, t] {
          for (size_t mine = 0; mine < 5 || clock_type::now() - start < std::chrono::seconds(2);
               ++mine)
            run(inputs[(n++ + t) % inputs.size()]);
        });
      for (auto& t : pool) t.join();
      double ms = cores *
                  std::chrono::duration<double, std::milli>(clock_type::now() - start).count() /
                  static_cast<double>(n);
      std::cout << op.name << " " << ms << std::endl;
    }
    return 0;
  }
  std::cerr << "usage: imaging_bench thumbnails DIR ROUNDS THREADS SIZE QUALITY OUT\n"
               "       imaging_bench ssim DIR SIZE THUMBS\n"
               "       imaging_bench pipeline DIR ROUNDS THREADS\n"
               "       imaging_bench ops DIR FORMAT [OPERATION...]\n";
  return 2;
}
