#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <unordered_map>

#include "pixhive/core/config.hpp"
#include "pixhive/core/error.hpp"

namespace pixhive::http {

/// One limit: `per_minute` requests per minute on average, at most `burst` at once.
struct rate {
  double per_minute = 0;
  double burst = 0;
};

/// Token buckets keyed by string (a client IP, a user id), for one kind of request. Memory is
/// bounded: past `max_keys` the least recently refilled buckets are dropped, which only ever
/// forgives a client. Thread-safe.
class rate_limiter {
 public:
  explicit rate_limiter(rate r, size_t max_keys = 100'000);
  /// Takes one token for `key`: 0 when allowed, else the seconds to wait before retrying.
  int64_t take(const std::string& key,
               std::chrono::steady_clock::time_point now = std::chrono::steady_clock::now());

 private:
  struct bucket {
    double tokens;
    std::chrono::steady_clock::time_point at;
  };
  rate rate_;
  size_t max_keys_;
  std::mutex mtx_;
  std::unordered_map<std::string, bucket> buckets_;
};

/// The per-client-IP and per-user limits of each kind of request ("login", "upload", …); a kind
/// with no limiter is not limited. Built from the `--rate-limit-*` options.
class rate_limits {
 public:
  /// Declares `--rate-limits` and one `--rate-limit-<kind>` option per kind.
  static void declare(options& opts);
  /// Reads them; `--rate-limits off` gives an empty set.
  static result<rate_limits> from(const options& opts);

  /// Sets the limit of `kind` (for tests and benchmarks).
  void set(const std::string& kind, rate r);
  /// Takes a token for the client IP and, when `user_id` is not 0, for the user: 0 when allowed,
  /// else the seconds to wait.
  int64_t take(const std::string& kind, const std::string& client_ip, int64_t user_id);

 private:
  struct limiters;
  std::map<std::string, std::shared_ptr<limiters>> kinds_;
};

/// A "20/min" or "5/h" (optionally ",burst=N") limit; burst defaults to the per-period count.
result<rate> parse_rate(std::string_view text);

}  // namespace pixhive::http
