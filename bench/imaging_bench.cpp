// In-process imaging figures for the benchmark scripts:
//
//   imaging_bench thumbnails DIR ROUNDS THREADS SIZE QUALITY OUT
//     decode (reduced, oriented) + centre-crop SIZE×SIZE + JPEG at QUALITY for every *.jpg in DIR,
//     ROUNDS times, on THREADS threads; reads each file from disk every time (as vipsthumbnail
//     does) and writes the thumbnails to OUT. Prints images/s.
//   imaging_bench pipeline DIR ROUNDS THREADS
//     the whole upload pipeline (thumbnail + display in JPEG and WebP, tags, OCR test, hash).
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
#include <sstream>
#include <thread>

#include <opencv2/imgcodecs.hpp>

#include "pixhive/core/memory.hpp"
#include "pixhive/imaging/codec.hpp"
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

/// Runs `work(file, index)` over files×rounds on `threads` threads; returns items per second.
template <class Work>
double throughput(const std::vector<std::string>& files, int rounds, int threads, Work work) {
  std::atomic<size_t> next{0};
  size_t total = files.size() * static_cast<size_t>(rounds);
  auto start = clock_type::now();
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t)
    pool.emplace_back([&] {
      for (size_t i; (i = next++) < total;) work(files[i % files.size()], i);
    });
  for (auto& t : pool) t.join();
  return total / std::chrono::duration<double>(clock_type::now() - start).count();
}

/// The parameters process_bench.sh sends with each operation.
nlohmann::json bench_params(const std::string& op) {
  if (op == "resize") return {{"width", 512}};
  if (op == "rotate") return {{"angle", 30}};
  return nullptr;
}

}  // namespace

int main(int argc, char** argv) {
  tune_allocator();  // as the server does
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
  if (args.size() == 4 && args[0] == "pipeline") {
    auto files = jpegs(args[1]);
    auto rate = throughput(files, std::stoi(args[2]), std::stoi(args[3]), [&](auto& f, size_t) {
      (void)imaging::process_upload(slurp(f), {});
    });
    std::cout << rate << "\n";
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
      std::string format = op.has_data ? "json" : op.has_alpha ? "png" : args[2];
      // A warm-up pass (Tesseract and cascade loading), then the timed pass.
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
               "       imaging_bench pipeline DIR ROUNDS THREADS\n"
               "       imaging_bench ops DIR FORMAT [OPERATION...]\n";
  return 2;
}
