#include "pixhive/core/ids.hpp"

#include <atomic>
#include <chrono>
#include <mutex>

#include <sodium.h>

namespace pixhive {

namespace {

constexpr int64_t epoch_ms = 1704067200000;  // 2024-01-01T00:00:00Z
constexpr int node_bits = 10;
constexpr int seq_bits = 12;

int64_t now_ms() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count() - epoch_ms;
}

}  // namespace

int64_t next_id() {
  static const int64_t node = randombytes_uniform(1u << node_bits);
  static std::mutex mtx;
  static int64_t last_ms = 0;
  static int64_t seq = 0;
  std::lock_guard<std::mutex> guard{mtx};
  auto ms = now_ms();
  if (ms <= last_ms) {
    // Same millisecond (or the clock stepped back): keep ids increasing by borrowing from the
    // next millisecond once the sequence is used up.
    ms = last_ms;
    if (++seq >= (1 << seq_bits)) {
      seq = 0;
      ++ms;
    }
  } else {
    seq = 0;
  }
  last_ms = ms;
  return (ms << (node_bits + seq_bits)) | (node << seq_bits) | seq;
}

std::string format_utc(const char* format, std::time_t when) {
  std::tm tm{};
  gmtime_r(&when, &tm);
  char buf[128];
  auto n = std::strftime(buf, sizeof buf, format, &tm);
  return std::string(buf, n);
}

int64_t unix_now() {
  using namespace std::chrono;
  return duration_cast<seconds>(system_clock::now().time_since_epoch()).count();
}

int64_t unix_now_ms() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

}  // namespace pixhive
