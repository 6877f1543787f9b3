#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>

#include <boost/asio/ip/address.hpp>

#include "exchange.hpp"
#include "middleware.hpp"
#include "pixhive/http/server.hpp"
#include "sse.hpp"

namespace pixhive::http {

/// A connection as the request side sees it: where a request's answer goes. Every member may be
/// called from any thread.
class connection {
 public:
  virtual ~connection() = default;

  /// Numbers the request about to be handed to its handler (on the connection's strand).
  uint64_t next_ticket() { return ++dispatched_; }

  /// Takes the right to answer request `ticket`: true for the first caller only (a responder
  /// called twice, or after start_events, is ignored).
  bool claim(uint64_t ticket) {
    auto expected = ticket - 1;
    return answered_.compare_exchange_strong(expected, ticket);
  }

  /// Sends `res` as the answer to the current request (after claim()).
  virtual void post_answer(response&& res) = 0;

  /// Answers the current request with an event stream (after claim()); `slot` is the user's hold
  /// on a stream, `token_expires_at` ends it (0 for never).
  virtual std::shared_ptr<event_stream> open_events(std::optional<stream_slots::slot> slot,
                                                    int64_t token_expires_at) = 0;

 private:
  std::atomic<uint64_t> answered_{0};
  uint64_t dispatched_ = 0;
};

/// What the request side decided from a header: answer at once with `refusal`, or read a body of
/// at most `body_limit` bytes and dispatch.
struct header_verdict {
  std::optional<response> refusal;
  size_t body_limit = 0;
};

/// The request side of one listener, in the shape of Beast's advanced server's request handler:
/// the connection hands it headers, bodies and responses and does the reading and writing.
/// It gives each request its identity (request id, client address), finds its route, runs the
/// middleware chain and calls the handler.
class pipeline {
 public:
  pipeline(server::impl& srv, const router& routes) : srv_(srv), routes_(routes) {}

  /// A request's header was read from `peer`: fills `x`, runs each middleware's on_request, and
  /// refuses (404, 405, a middleware's error) or admits the request.
  header_verdict begin(exchange& x, const request& req, const boost::asio::ip::address& peer);

  /// Calls the route's handler with the whole request; its answer comes back through `conn`.
  void dispatch(exchange& x, request&& req, const std::shared_ptr<connection>& conn);

  /// Shapes a response before it is written: X-Request-Id, then each middleware's on_response.
  void finish(exchange& x, response& res);

  /// The request was answered (`status`) or given up (400): each middleware that saw it is told,
  /// and it stops counting as in flight. Idempotent.
  void complete(exchange& x, unsigned status);

 private:
  server::impl& srv_;
  const router& routes_;
};

}  // namespace pixhive::http
