#pragma once

#include <memory>
#include <vector>

#include "exchange.hpp"
#include "pixhive/core/error.hpp"
#include "pixhive/http/server.hpp"
#include "pixhive/http/stream_ticket.hpp"
#include "pixhive/http/types.hpp"
#include "pixhive/metrics/metrics.hpp"

namespace pixhive::http {

/// One step of the HTTP layer between the connection and the handler: authentication, rate
/// limiting, metrics and the access log, cache headers, error bodies. The server builds its
/// chain once; each connection runs every request through it. A request costs a few virtual
/// calls per middleware and no allocation of the chain's own; what a middleware learns about a
/// request it keeps in the exchange.
class middleware {
 public:
  virtual ~middleware() = default;

  /// A request's header has been read and its route looked up (`x.route` is null when none
  /// matched), and no byte of its body has been read. Called in chain order. An error refuses
  /// the request: it is answered with error_response() of it at once, its body is never read,
  /// and neither the rest of the chain nor the handler sees it.
  virtual caf::error on_request(exchange&, const request&) { return {}; }

  /// Shapes a response before it is written, in reverse chain order: every response, also the
  /// answer to a request the chain never saw (a header that could not be read).
  virtual void on_response(exchange&, response&) {}

  /// The request whose on_request this middleware saw is answered: its response is about to be
  /// written or its event stream has begun (`status` 200), or it was given up (a broken body,
  /// `status` 400). Called in reverse chain order, once per request.
  virtual void on_complete(exchange&, unsigned /*status*/) {}
};

/// The middleware of a server, in order.
using chain = std::vector<std::unique_ptr<middleware>>;

/// Counts every request in http_requests_total, http_request_duration_seconds and
/// http_requests_in_flight, and writes the access log line (`--access-log`).
std::unique_ptr<middleware> make_metrics_and_access_log(metrics::http_metrics& stats,
                                                        const server_config& cfg);

/// Writes the body of an error response from the error it carries, once: code, message and the
/// request id; a 5xx says only that the service failed, and what the error said goes to the log.
std::unique_ptr<middleware> make_error_shaping();

/// Marks answers that depend on who asks: `Vary: Authorization` on routes open to anyone with an
/// optional token, `Cache-Control: private, no-cache` on authenticated answers without one.
std::unique_ptr<middleware> make_cache_headers();

/// Decides who calls from the header alone: a Bearer access token (or a stream ticket in the
/// query on routes that take one), checked against the key and the revocation list, as the
/// route's `access` asks.
std::unique_ptr<middleware> make_authentication(const server_config& cfg, ticket_book& tickets);

/// Takes a token from the route's rate limit (`route_options::limit`) for the client address and
/// the caller; refuses with 429 and Retry-After when there is none.
std::unique_ptr<middleware> make_rate_limiting(const server_config& cfg);

}  // namespace pixhive::http
