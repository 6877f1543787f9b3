// What a route answers may depend on who asks: such answers never go into a shared cache as one
// for everybody. Only an explicit `public` (a ready public photo's bytes) stays public.
#include "middleware.hpp"

namespace pixhive::http {

namespace {

class cache_headers final : public middleware {
 public:
  void on_response(exchange& x, response& res) override {
    if (!x.route || x.route->options.who == access::anyone) return;
    if (x.route->options.who == access::optional_user) res.set(bhttp::field::vary, "Authorization");
    if (x.user && res[bhttp::field::cache_control].empty())
      res.set(bhttp::field::cache_control, "private, no-cache");
  }
};

}  // namespace

std::unique_ptr<middleware> make_cache_headers() {
  return std::make_unique<cache_headers>();
}

}  // namespace pixhive::http
