// The request side of the server: identity, routing, the middleware chain and the handler call.
#include "pipeline.hpp"

#include "pixhive/core/crypto.hpp"
#include "pixhive/core/ids.hpp"
#include "pixhive/core/log.hpp"
#include "pixhive/http/json.hpp"
#include "server_impl.hpp"

namespace pixhive::http {

namespace {

bool valid_request_id(std::string_view id) {
  if (id.empty() || id.size() > 128) return false;
  for (char c : id)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_' && c != '.')
      return false;
  return true;
}

/// The context a handler gets, with what its start_events and stream_ticket need: they refer to
/// it, so that neither allocates per request.
struct dispatched_context final : context {
  std::shared_ptr<server::impl> srv;
  std::weak_ptr<connection> conn;
  uint64_t ticket = 0;

  std::shared_ptr<event_stream> open_events() {
    auto c = conn.lock();
    if (!c || !c->claim(ticket)) return std::make_shared<sse_stream>();
    std::optional<stream_slots::slot> slot;
    if (user) {
      slot = srv->streams.take(user->user_id);
      if (!slot) {
        c->post_answer(error_response(
            make_error(errc::too_many_requests, "too_many_streams",
                       "too many live event streams for this user; close one first", 5)));
        return std::make_shared<sse_stream>();
      }
    }
    return c->open_events(std::move(slot), user ? user->expires_at : 0);
  }
};

}  // namespace

header_verdict pipeline::begin(exchange& x, const request& req,
                               const boost::asio::ip::address& peer) {
  x.started = std::chrono::steady_clock::now();
  x.in_flight = true;
  srv_.request_started();
  x.method = req.method();
  auto given = req["X-Request-Id"];
  if (valid_request_id(given))
    x.request_id.assign(given.data(), given.size());
  else
    x.request_id = crypto::random_token(12);
  x.client_ip = client_ip(peer, req["X-Forwarded-For"], srv_.cfg.proxies);
  auto target = std::string_view(req.target().data(), req.target().size());
  auto qpos = target.find('?');
  x.path.assign(target.substr(0, qpos));
  if (qpos == std::string_view::npos)
    x.query.clear();
  else
    x.query.assign(target.substr(qpos + 1));
  auto match = routes_.find(req.method(), x.path);
  x.route = match.found;
  x.params = std::move(match.params);
  for (const auto& mw : srv_.middleware) {
    ++x.entered;
    if (auto refused = mw->on_request(x, req)) return {error_response(refused)};
  }
  if (!x.route) {
    if (match.allowed.empty())
      return {error_response(make_error(errc::not_found, "not_found", "no such route"))};
    std::string allow;
    for (auto v : match.allowed)
      allow += (allow.empty() ? "" : ", ") + std::string(bhttp::to_string(v));
    auto res = error_response(make_error(errc::method_not_allowed, "method_not_allowed",
                                         "method not allowed on this path"));
    res.set(bhttp::field::allow, allow);
    return {std::move(res)};
  }
  return {std::nullopt, x.route->options.body_limit};
}

void pipeline::dispatch(exchange& x, request&& req, const std::shared_ptr<connection>& conn) {
  auto ctx = std::make_shared<dispatched_context>();
  ctx->req = std::move(req);
  ctx->route = x.route_label();
  ctx->params = std::move(x.params);
  ctx->query = parse_query(x.query);
  ctx->request_id = x.request_id;
  ctx->client_ip = x.client_ip;
  // A copy: the answer's cache headers depend on whether the request was authenticated.
  ctx->user = x.user;
  ctx->srv = srv_.shared_from_this();
  ctx->conn = conn;
  ctx->ticket = conn->next_ticket();
  ctx->start_events = [c = ctx.get()] { return c->open_events(); };
  if (ctx->user)
    ctx->stream_ticket = [c = ctx.get()](const std::string& path) {
      return ticket_book::issue(*c->user, path, c->srv->cfg.jwt_key, unix_now());
    };
  auto ticket = ctx->ticket;
  responder respond = [conn, ticket](response res) {
    if (conn->claim(ticket)) conn->post_answer(std::move(res));
  };
  try {
    x.route->fn(std::move(ctx), std::move(respond));
  } catch (const std::exception& e) {
    log::sampled(log::level::error, "handler_exception",
                 {{"route", x.route_label()}, {"what", e.what()}, {"request_id", x.request_id}});
    if (conn->claim(ticket))
      conn->post_answer(error_response(make_error(errc::internal, "internal", "internal error")));
  }
}

void pipeline::finish(exchange& x, response& res) {
  if (x.request_id.empty()) x.request_id = crypto::random_token(12);
  res.set("X-Request-Id", x.request_id);
  for (auto it = srv_.middleware.rbegin(); it != srv_.middleware.rend(); ++it)
    (*it)->on_response(x, res);
}

void pipeline::complete(exchange& x, unsigned status) {
  if (!x.in_flight) return;
  x.in_flight = false;
  for (auto i = x.entered; i-- > 0;) srv_.middleware[i]->on_complete(x, status);
  srv_.request_finished();
}

}  // namespace pixhive::http
