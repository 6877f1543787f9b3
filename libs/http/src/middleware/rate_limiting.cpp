// Rate limits by route kind, taken from the header alone: per client address and, once
// authentication has found one, per user.
#include "middleware.hpp"
#include "pixhive/core/log.hpp"

namespace pixhive::http {

namespace {

class rate_limiting final : public middleware {
 public:
  explicit rate_limiting(const server_config& cfg) : cfg_(cfg) {}

  caf::error on_request(exchange& x, const request&) override {
    if (!x.route || x.route->options.limit.empty()) return {};
    const auto& kind = x.route->options.limit;
    auto wait = cfg_.limits->take(kind, x.client_ip, x.user ? x.user->user_id : 0);
    if (!wait) return {};
    log::sampled(log::level::warn, "rate_limited",
                 {{"kind", kind}, {"client_ip", x.client_ip}, {"route", x.route_label()}});
    return make_error(errc::too_many_requests, "rate_limited",
                      "too many requests of this kind; try again later", wait);
  }

 private:
  const server_config& cfg_;
};

}  // namespace

std::unique_ptr<middleware> make_rate_limiting(const server_config& cfg) {
  return std::make_unique<rate_limiting>(cfg);
}

}  // namespace pixhive::http
