#include "pixhive/core/log.hpp"

#include "pixhive/core/ids.hpp"

#include <atomic>
#include <chrono>
#include <ctime>
#include <map>
#include <mutex>

#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

namespace pixhive::log {

namespace {

std::atomic<int> min_level_{static_cast<int>(level::info)};

std::shared_ptr<spdlog::logger>& logger() {
  static auto instance = [] {
    auto l = spdlog::stderr_logger_mt("pixhive");
    l->set_pattern("%v");
    l->set_level(spdlog::level::trace);
    return l;
  }();
  return instance;
}

const char* name_of(level lvl) {
  switch (lvl) {
    case level::debug:
      return "debug";
    case level::info:
      return "info";
    case level::warn:
      return "warn";
    case level::error:
      return "error";
  }
  return "info";
}

std::string timestamp() {
  auto now = std::chrono::system_clock::now();
  auto ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000;
  char frac[8];
  std::snprintf(frac, sizeof frac, ".%03dZ", static_cast<int>(ms));
  return format_utc("%Y-%m-%dT%H:%M:%S", std::chrono::system_clock::to_time_t(now)) + frac;
}

}  // namespace

void init(std::string_view min_level) {
  level lvl = level::info;
  if (min_level == "debug")
    lvl = level::debug;
  else if (min_level == "warn")
    lvl = level::warn;
  else if (min_level == "error")
    lvl = level::error;
  min_level_ = static_cast<int>(lvl);
  logger();
}

bool enabled(level lvl) {
  return static_cast<int>(lvl) >= min_level_.load();
}

void write(level lvl, std::string_view event, const nlohmann::json& fields) {
  if (!enabled(lvl)) return;
  nlohmann::json line = {{"ts", timestamp()}, {"level", name_of(lvl)}, {"event", event}};
  if (fields.is_object())
    for (auto it = fields.begin(); it != fields.end(); ++it) line[it.key()] = it.value();
  logger()->info(line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
  if (lvl >= level::warn) logger()->flush();
}

void sampled(level lvl, std::string_view event, const nlohmann::json& fields, int per_second) {
  if (!enabled(lvl)) return;
  struct window {
    int64_t second = 0;
    int written = 0;
    int64_t suppressed = 0;
  };
  static std::mutex mtx;
  static std::map<std::string, window, std::less<>> windows;
  auto now = std::chrono::duration_cast<std::chrono::seconds>(
                 std::chrono::steady_clock::now().time_since_epoch())
                 .count();
  int64_t suppressed = 0;
  {
    std::lock_guard<std::mutex> guard{mtx};
    auto it = windows.find(event);
    if (it == windows.end()) it = windows.emplace(std::string(event), window{}).first;
    auto& w = it->second;
    if (w.second != now) {
      w.second = now;
      w.written = 0;
    }
    if (w.written >= per_second) {
      ++w.suppressed;
      return;
    }
    ++w.written;
    suppressed = std::exchange(w.suppressed, 0);
  }
  if (suppressed == 0) return write(lvl, event, fields);
  auto with = fields.is_object() ? fields : nlohmann::json::object();
  with["suppressed"] = suppressed;
  write(lvl, event, with);
}

}  // namespace pixhive::log
