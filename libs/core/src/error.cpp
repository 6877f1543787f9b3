#include "pixhive/core/error.hpp"

#include <caf/message.hpp>
#include <caf/sec.hpp>

namespace pixhive {

caf::error make_error(errc kind, std::string code, std::string message, int64_t retry_after) {
  return caf::error{static_cast<uint8_t>(kind), error_category,
                    caf::make_message(std::move(code), std::move(message), retry_after)};
}

problem to_problem(const caf::error& err) {
  if (err.category() == error_category) {
    problem p;
    p.kind = static_cast<errc>(err.code());
    if (auto& ctx = err.context(); ctx.match_elements<std::string, std::string, int64_t>()) {
      p.code = ctx.get_as<std::string>(0);
      p.message = ctx.get_as<std::string>(1);
      p.retry_after = ctx.get_as<int64_t>(2);
    } else {
      p.code = "error";
      p.message = "unspecified error";
    }
    return p;
  }
  if (err.category() == caf::atom("system")) {
    switch (static_cast<caf::sec>(err.code())) {
      case caf::sec::request_timeout:
        return {errc::unavailable, "timeout", "the service did not answer in time", 1};
      case caf::sec::request_receiver_down:
      case caf::sec::no_actor_published_at_port:
      case caf::sec::cannot_connect_to_node:
        return {errc::unavailable, "service_unavailable", "the service is not reachable", 1};
      default:
        break;
    }
  }
  return {errc::internal, "internal", "internal error", 0};
}

int http_status(errc kind) {
  switch (kind) {
    case errc::invalid_argument:
      return 400;
    case errc::unauthorized:
      return 401;
    case errc::forbidden:
      return 403;
    case errc::not_found:
      return 404;
    case errc::method_not_allowed:
      return 405;
    case errc::conflict:
      return 409;
    case errc::payload_too_large:
      return 413;
    case errc::unsupported_media_type:
      return 415;
    case errc::unprocessable:
      return 422;
    case errc::too_many_requests:
      return 429;
    case errc::unavailable:
      return 503;
    case errc::internal:
      return 500;
  }
  return 500;
}

}  // namespace pixhive
