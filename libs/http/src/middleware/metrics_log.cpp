// Metrics and the access log: every request that got as far as a header is counted once, when it
// is answered, under its route template (never its raw path).
#include <array>

#include "middleware.hpp"
#include "pixhive/core/log.hpp"

namespace pixhive::http {

namespace {

/// The method's name as the metrics label wants it, made once per method rather than per request.
const std::string& method_name(bhttp::verb v) {
  constexpr auto count = static_cast<size_t>(bhttp::verb::unlink) + 1;
  static const auto names = [] {
    std::array<std::string, count> out;
    for (size_t i = 0; i < count; ++i) out[i] = bhttp::to_string(static_cast<bhttp::verb>(i));
    return out;
  }();
  auto i = static_cast<size_t>(v);
  return names[i < count ? i : 0];
}

class metrics_and_access_log final : public middleware {
 public:
  metrics_and_access_log(metrics::http_metrics& stats, const server_config& cfg)
      : stats_(stats), cfg_(cfg) {}

  caf::error on_request(exchange&, const request&) override {
    stats_.in_flight().Increment();
    return {};
  }

  void on_complete(exchange& x, unsigned status) override {
    stats_.in_flight().Decrement();
    auto secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - x.started).count();
    const auto& method = method_name(x.method);
    stats_.observe(method, x.route_label(), static_cast<int>(status), secs);
    if (cfg_.access_log && log::enabled(log::level::info))
      log::info("http_request", {{"service", cfg_.service},
                                 {"method", method},
                                 {"route", x.route_label()},
                                 {"path", x.path},
                                 {"status", status},
                                 {"duration_ms", secs * 1000},
                                 {"request_id", x.request_id}});
  }

 private:
  metrics::http_metrics& stats_;
  const server_config& cfg_;
};

}  // namespace

std::unique_ptr<middleware> make_metrics_and_access_log(metrics::http_metrics& stats,
                                                        const server_config& cfg) {
  return std::make_unique<metrics_and_access_log>(stats, cfg);
}

}  // namespace pixhive::http
