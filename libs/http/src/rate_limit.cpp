#include "pixhive/http/rate_limit.hpp"

#include "pixhive/http/client_ip.hpp"

#include <algorithm>
#include <cmath>

namespace pixhive::http {

namespace {

using clock = std::chrono::steady_clock;

// Defaults, per client IP and per user. Logins and sign-ups are what credential stuffing and
// account farming repeat; uploads, processing and search are what costs CPU and storage.
// Each lets a person working by hand never notice it.
const std::vector<std::pair<std::string, std::string>>& kinds() {
  static const std::vector<std::pair<std::string, std::string>> k{{"login", "20/min"},
                                                                  {"signup", "10/h,burst=5"},
                                                                  {"verify", "30/h,burst=10"},
                                                                  {"resend", "6/h,burst=3"},
                                                                  {"reset", "6/h,burst=3"},
                                                                  {"upload", "60/min,burst=30"},
                                                                  {"process", "60/min,burst=20"},
                                                                  {"search", "120/min,burst=60"}};
  return k;
}

caf::error bad_rate(std::string_view text) {
  return make_error(errc::invalid_argument, "bad_config",
                    "a rate limit looks like 20/min, 5/h or 10/s, optionally ,burst=N (got '" +
                        std::string(text) + "')");
}

}  // namespace

result<rate> parse_rate(std::string_view text) {
  auto comma = text.find(',');
  auto main = text.substr(0, comma);
  auto slash = main.find('/');
  if (slash == std::string_view::npos) return bad_rate(text);
  double count = 0;
  try {
    size_t used = 0;
    count = std::stod(std::string(main.substr(0, slash)), &used);
    if (used != slash) return bad_rate(text);
  } catch (const std::exception&) {
    return bad_rate(text);
  }
  auto unit = main.substr(slash + 1);
  double minutes = unit == "s" ? 1.0 / 60 : unit == "min" || unit == "m" ? 1 : unit == "h" ? 60 : 0;
  if (minutes == 0 || !(count > 0) || !std::isfinite(count)) return bad_rate(text);
  rate r{count / minutes, std::max(1.0, count)};
  if (comma != std::string_view::npos) {
    auto extra = text.substr(comma + 1);
    if (extra.substr(0, 6) != "burst=") return bad_rate(text);
    try {
      size_t used = 0;
      r.burst = std::stod(std::string(extra.substr(6)), &used);
      if (used != extra.size() - 6 || !(r.burst >= 1) || !std::isfinite(r.burst))
        return bad_rate(text);
    } catch (const std::exception&) {
      return bad_rate(text);
    }
  }
  return r;
}

rate_limiter::rate_limiter(rate r, size_t max_keys) : rate_(r), max_keys_(max_keys) {}

int64_t rate_limiter::take(const std::string& key, clock::time_point now) {
  std::lock_guard<std::mutex> guard{mtx_};
  auto per_second = rate_.per_minute / 60;
  auto refill = [&](bucket& b) {
    auto secs = std::chrono::duration<double>(now - b.at).count();
    b.tokens = std::min(rate_.burst, b.tokens + std::max(0.0, secs) * per_second);
    b.at = now;
  };
  if (buckets_.size() >= max_keys_ && !buckets_.count(key)) {
    // A full bucket is the same as none: dropping those forgets nothing.
    for (auto it = buckets_.begin(); it != buckets_.end();) {
      refill(it->second);
      it = it->second.tokens >= rate_.burst ? buckets_.erase(it) : std::next(it);
    }
    if (buckets_.size() >= max_keys_) buckets_.clear();
  }
  auto [it, fresh] = buckets_.try_emplace(key, bucket{rate_.burst, now});
  auto& b = it->second;
  if (!fresh) refill(b);
  if (b.tokens >= 1) {
    b.tokens -= 1;
    return 0;
  }
  return std::max<int64_t>(1, static_cast<int64_t>(std::ceil((1 - b.tokens) / per_second)));
}

struct rate_limits::limiters {
  explicit limiters(rate r) : by_ip(r), by_user(r) {}
  rate_limiter by_ip;
  rate_limiter by_user;
};

void rate_limits::declare(options& opts) {
  opts.add("rate-limits", "on",
           "off switches every rate limit off (benchmarks and load tests from one address)",
           check::boolean());
  for (const auto& [kind, def] : kinds())
    opts.add("rate-limit-" + kind, def,
             "requests of kind '" + kind +
                 "' allowed per client IP and per user (N/s, N/min or N/h, optionally ,burst=N); "
                 "more get 429 with Retry-After");
}

result<rate_limits> rate_limits::from(const options& opts) {
  rate_limits out;
  auto on = opts.get_bool("rate-limits");
  if (!on) return on.error();
  for (const auto& [kind, def] : kinds()) {
    auto r = parse_rate(opts.get("rate-limit-" + kind));
    if (!r)
      return make_error(errc::invalid_argument, "bad_config",
                        "option --rate-limit-" + kind + ": " + to_problem(r.error()).message);
    if (*on) out.set(kind, *r);
  }
  return out;
}

void rate_limits::set(const std::string& kind, rate r) {
  kinds_[kind] = std::make_shared<limiters>(r);
}

int64_t rate_limits::take(const std::string& kind, const std::string& client_ip, int64_t user_id) {
  auto it = kinds_.find(kind);
  if (it == kinds_.end()) return 0;
  if (auto wait = it->second->by_ip.take(client_key(client_ip))) return wait;
  if (user_id) return it->second->by_user.take(std::to_string(user_id));
  return 0;
}

}  // namespace pixhive::http
