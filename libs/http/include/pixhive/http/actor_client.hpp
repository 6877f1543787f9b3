#pragma once

#include <cstdint>
#include <string>
#include <utility>

#include <caf/actor_system.hpp>

#include "pixhive/core/ask.hpp"
#include "pixhive/http/json.hpp"

namespace pixhive::http {

/// Lets HTTP handlers call a service actor without blocking: the reply is rendered into a
/// response, an error becomes the JSON error response.
template <class Handle>
class actor_client {
 public:
  actor_client(caf::actor_system& sys, Handle service) : sys_(&sys), service_(std::move(service)) {}

  /// Sends `req`; `render(Reply&)` makes the response.
  template <class Reply, class Request, class Render>
  void call(responder respond, Request req, Render render) const {
    call_within<Reply>(default_request_timeout, std::move(respond), std::move(req),
                       std::move(render));
  }

  /// The answer of a value-returning handler: sends `req` when the answer is delivered and
  /// renders the reply with `render(Reply&)`; an error becomes its error response.
  template <class Reply, class Request, class Render>
  answer ask(Request req, Render render) const {
    return answer::later([client = *this, req = std::move(req),
                          render = std::move(render)](responder respond) mutable {
      client.template call<Reply>(std::move(respond), std::move(req), std::move(render));
    });
  }

  /// call() that waits at most `timeout` for the reply.
  template <class Reply, class Request, class Render>
  void call_within(std::chrono::milliseconds timeout, responder respond, Request req,
                   Render render) const {
    ask_within(
        *sys_, caf::duration{timeout}, service_,
        [respond, render](Reply& r) { respond(render(r)); },
        [respond](caf::error& e) { respond(error_response(e)); }, std::move(req));
  }

 private:
  caf::actor_system* sys_;
  Handle service_;
};

/// A positive decimal id from a path or query parameter; otherwise 400 `invalid_<what>`.
result<int64_t> parse_id(const std::string& text, const std::string& what);

/// The `cursor` (an id, 0 when absent) and `limit` (1..100, default 20) of a paged list.
struct page_params {
  int64_t cursor = 0;
  int32_t limit = 20;
};

/// Reads page_params from the query; malformed values are 400.
result<page_params> parse_page(const context& ctx);

}  // namespace pixhive::http
