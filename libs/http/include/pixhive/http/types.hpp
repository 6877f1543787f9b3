#pragma once

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>
#include <variant>

#include <boost/beast/http.hpp>

#include "pixhive/core/error.hpp"
#include "pixhive/core/jwt.hpp"

namespace pixhive::http {

namespace bhttp = boost::beast::http;

/// A request with its whole body in memory (bodies are bounded per route).
using request = bhttp::request<bhttp::string_body>;
/// A response with its body in memory: a Beast response that may also carry the error it
/// reports. error_response() sets `error` and leaves the body to the server, which writes it
/// once, when the response is sent, naming the request id (docs/architecture.md, "How a
/// request travels").
class response : public bhttp::response<bhttp::string_body> {
 public:
  using message_type = bhttp::response<bhttp::string_body>;
  using message_type::message_type;
  response() = default;
  response(message_type&& m) : message_type(std::move(m)) {}
  response(const message_type& m) : message_type(m) {}

  /// The error this response reports (set by error_response()); its JSON body is written from
  /// it when the response is sent.
  std::optional<problem> error;
};

/// A Server-Sent Events response being written to one client; thread-safe.
class event_stream {
 public:
  virtual ~event_stream() = default;
  /// Queues one event (`data` may span lines); false once the client has gone, so the producer
  /// can stop.
  virtual bool send(const std::string& event, const std::string& data,
                    const std::string& id = {}) = 0;
  /// Ends the response after the queued events (the connection closes).
  virtual void end() = 0;
};

/// Everything a handler knows about one request.
struct context {
  request req;
  /// Route template that matched, e.g. "/api/v1/users/{username}".
  std::string route;
  /// Path parameters by name, percent-decoded.
  std::map<std::string, std::string> params;
  /// Query parameters, percent-decoded.
  std::map<std::string, std::string> query;
  /// The caller's request id (accepted from X-Request-Id or made up).
  std::string request_id;
  /// The authenticated caller, set on routes that require a token.
  std::optional<jwt::claims> user;
  /// The client's address (the peer's, or from X-Forwarded-For behind a trusted proxy).
  std::string client_ip;
  /// Answers with `200 text/event-stream` instead of a response: the returned stream carries
  /// the events. Call it at most once, from any thread, and then never the responder; call it
  /// through the context the server gave (it refers to that context).
  std::function<std::shared_ptr<event_stream>()> start_events;
  /// A single-use ticket, valid for 30 seconds, that lets the authenticated caller open the
  /// stream route at `path` with `?ticket=` instead of an Authorization header; like
  /// start_events, call it through the context the server gave.
  std::function<std::string(const std::string& path)> stream_ticket;

  /// A query parameter or `fallback`.
  std::string query_or(const std::string& name, std::string fallback = {}) const {
    auto it = query.find(name);
    return it == query.end() ? fallback : it->second;
  }
};

/// Completes a request. May be called from any thread, exactly once.
using responder = std::function<void(response)>;

/// Serves a request; must not block: hand slow work to an actor and respond later.
using handler = std::function<void(std::shared_ptr<context>, responder)>;

/// What a value-returning handler answers (see router::add): a response, an error (which
/// error_response() turns into its status and body), or a response that comes later.
class answer {
 public:
  answer(response res) : value_(std::move(res)) {}
  answer(caf::error err) : value_(std::move(err)) {}
  answer(result<response> r)
      : value_(r ? std::variant<response, caf::error, deferred>(std::move(*r))
                 : std::variant<response, caf::error, deferred>(std::move(r.error()))) {}

  /// An answer that comes later (the future of a response): `start` is called once, with the
  /// responder, when the answer is delivered; it hands slow work on and responds from any thread.
  static answer later(std::function<void(responder)> start) {
    return answer(deferred{std::move(start)});
  }

  /// Hands the answer to `respond`: at once, or through the `start` of later().
  void deliver(responder respond) &&;

 private:
  struct deferred {
    std::function<void(responder)> start;
  };
  explicit answer(deferred d) : value_(std::move(d)) {}
  std::variant<response, caf::error, deferred> value_;
};

/// A function that returns its answer instead of calling a responder: it takes the request's
/// context as `std::shared_ptr<context>` (keep it for a later answer) or `const context&`.
template <class F>
concept answering_function = std::is_invocable_r_v<answer, F&, std::shared_ptr<context>> ||
    std::is_invocable_r_v<answer, F&, const context&>;

/// The handler that serves a request with `fn`'s answer.
template <answering_function F>
handler answering(F fn) {
  return [fn = std::move(fn)](std::shared_ptr<context> ctx, responder respond) mutable {
    if constexpr (std::is_invocable_r_v<answer, F&, std::shared_ptr<context>>)
      answer(fn(std::move(ctx))).deliver(std::move(respond));
    else
      answer(fn(std::as_const(*ctx))).deliver(std::move(respond));
  };
}

/// Who may call a route (`optional_user`: anyone, but a valid token identifies the caller).
enum class access { anyone, optional_user, user, admin };

/// Per-route settings.
struct route_options {
  /// Largest request body accepted; larger ones are answered 413 without being read.
  size_t body_limit = 64 * 1024;
  /// Token requirement checked before the handler runs.
  access who = access::anyone;
  /// Also accept a stream ticket as `?ticket=` (a browser's EventSource cannot set headers, and
  /// an access token in a URL would be written to proxies' access logs).
  bool ticket_in_query = false;
  /// The rate-limit kind of this route ("login", "upload", …; see rate_limits), empty for none.
  std::string limit = {};
};

}  // namespace pixhive::http
