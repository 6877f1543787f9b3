// Error bodies: written once, from the error value a response carries (error_response() sets it),
// when the response is sent. They name the request id, and never carry what a store or another
// service said: that goes to the log, under the same request id.
#include <nlohmann/json.hpp>

#include "middleware.hpp"
#include "pixhive/core/log.hpp"

namespace pixhive::http {

namespace {

const char* generic_message(unsigned status) {
  return status == 503 ? "a service this request needs is unavailable; try again later"
                       : "internal error";
}

class error_shaping final : public middleware {
 public:
  void on_response(exchange& x, response& res) override {
    if (!res.error) return;
    auto status = res.result_int();
    const auto& p = *res.error;
    nlohmann::json err{{"code", p.code}, {"message", p.message}};
    if (status >= 400) {
      if (status >= 500) {
        log::sampled(log::level::error, "request_failed",
                     {{"route", x.route_label()},
                      {"status", status},
                      {"code", p.code},
                      {"detail", p.message},
                      {"request_id", x.request_id}},
                     20);
        err["message"] = generic_message(status);
      }
      err["request_id"] = x.request_id;
    }
    // A trailing newline keeps terminal output (curl) readable; JSON parsers ignore it.
    res.body() = nlohmann::json{{"error", std::move(err)}}.dump(
                     -1, ' ', false, nlohmann::json::error_handler_t::replace) +
                 "\n";
    res.error.reset();
  }
};

}  // namespace

std::unique_ptr<middleware> make_error_shaping() {
  return std::make_unique<error_shaping>();
}

}  // namespace pixhive::http
