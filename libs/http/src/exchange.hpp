#pragma once

#include <chrono>
#include <cstddef>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "pixhive/core/jwt.hpp"
#include "pixhive/http/router.hpp"
#include "pixhive/http/types.hpp"

namespace pixhive::http {

/// One request as the HTTP layer sees it from its header to its answer: what the pipeline and
/// the middleware read and write. It belongs to the connection (each request of a keep-alive
/// connection reuses it) and never leaves the connection's strand; the handler gets a context
/// made from it.
struct exchange {
  /// When the header was read.
  std::chrono::steady_clock::time_point started;
  bhttp::verb method = bhttp::verb::unknown;
  /// The request target split at '?', both raw (not decoded).
  std::string path, query;
  /// The caller's X-Request-Id when it is usable, else one made up.
  std::string request_id;
  /// The client's address (the peer's, or from X-Forwarded-For behind a trusted proxy).
  std::string client_ip;
  /// The route that matched, null when none did.
  const router::route* route = nullptr;
  /// Its path parameters (handed on to the handler's context).
  std::map<std::string, std::string> params;
  /// The caller, once authentication has found one.
  std::optional<jwt::claims> user;
  /// How many middleware have seen the request (on_request); each is told when it completes.
  size_t entered = 0;
  /// Read and not yet answered (counted in flight).
  bool in_flight = false;

  /// The route template, "unmatched" when none matched: the label of metrics and logs.
  const std::string& route_label() const {
    static const std::string unmatched = "unmatched";
    return route ? route->path : unmatched;
  }

  /// Forgets the request, so that nothing of it shapes the next one's answer.
  void reset() {
    route = nullptr;
    params.clear();
    user.reset();
    request_id.clear();
    entered = 0;
    in_flight = false;
  }
};

}  // namespace pixhive::http
