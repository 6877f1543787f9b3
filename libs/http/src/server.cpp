#include "pixhive/http/server.hpp"

#include <atomic>
#include <deque>
#include <mutex>
#include <optional>
#include <thread>
#include <unordered_map>

#include <sys/resource.h>

#include <boost/asio/dispatch.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include "pixhive/core/crypto.hpp"
#include "pixhive/core/ids.hpp"
#include "pixhive/core/json.hpp"
#include "pixhive/core/log.hpp"
#include "pixhive/http/json.hpp"
#include "pixhive/http/stream_ticket.hpp"
#include "pixhive/metrics/metrics.hpp"

namespace pixhive::http {

namespace net = boost::asio;
namespace beast = boost::beast;
using tcp = net::ip::tcp;

void server_config::declare(options& opts) {
  rate_limits::declare(opts);
  opts.add("address", "0.0.0.0", "address the HTTP server listens on")
      .add("port", "8080", "HTTP port; 0 picks a free port and logs it")
      .add("http-threads", "2", "threads serving HTTP I/O (never blocked by database work)")
      .add("header-timeout", "10s",
           "time allowed from a connection's first byte to a complete request header")
      .add("body-timeout", "10s",
           "longest wait for the next bytes of a request body; a stalled upload is dropped")
      .add("idle-timeout", "60s", "how long an idle keep-alive connection is kept open")
      .add("max-connections", "4096",
           "open connections allowed in all (kept below the open-files limit)")
      .add("max-connections-per-ip", "128",
           "open connections allowed from one client address (trusted proxies are exempt)")
      .add("max-event-streams-per-user", "8",
           "live Server-Sent Events streams one user may hold open; more get 429")
      .add("trusted-proxies", "",
           "CIDR ranges (comma-separated) of proxies whose X-Forwarded-For names the client, "
           "e.g. the ingress: 10.0.0.0/8")
      .add("metrics-port", "9180",
           "port of the metrics listener (/metrics, /healthz, /readyz), kept off the public "
           "port; 0 picks a free one (the default when --port is 0); off disables it")
      .add("metrics-public", "false",
           "also serve /metrics on the main port (all-in-one on a private network)")
      .add("shutdown-drain", "0s",
           "after SIGTERM, how long /readyz answers 503 before the listener closes, so load "
           "balancers stop sending traffic first")
      .add("shutdown-timeout", "30s", "longest wait for in-flight requests during shutdown")
      .add("access-log", "true", "log one line per request (at level info)")
      .add("jwt-key", "",
           "HS256 key for access tokens, shared by every service; all-in-one mode makes and keeps "
           "one in the data directory when unset");
}

result<server_config> server_config::from(const options& opts) {
  server_config cfg;
  cfg.address = opts.get("address");
  auto port = opts.get_int("port");
  if (!port) return port.error();
  if (*port < 0 || *port > 65535)
    return make_error(errc::invalid_argument, "bad_config", "option --port must be 0..65535");
  cfg.port = static_cast<uint16_t>(*port);
  auto threads = opts.get_int("http-threads");
  if (!threads) return threads.error();
  if (*threads < 1 || *threads > 256)
    return make_error(errc::invalid_argument, "bad_config", "option --http-threads must be 1..256");
  cfg.threads = static_cast<int>(*threads);
  for (auto [name, field] :
       {std::pair{"header-timeout", &cfg.header_timeout},
        std::pair{"body-timeout", &cfg.body_timeout}, std::pair{"idle-timeout", &cfg.idle_timeout},
        std::pair{"shutdown-drain", &cfg.drain},
        std::pair{"shutdown-timeout", &cfg.shutdown_timeout}}) {
    auto d = opts.get_duration(name);
    if (!d) return d.error();
    *field = *d;
  }
  for (auto [name, field, low, high] :
       {std::tuple{"max-connections", &cfg.max_connections, 1, 1'000'000},
        std::tuple{"max-connections-per-ip", &cfg.max_connections_per_ip, 1, 1'000'000},
        std::tuple{"max-event-streams-per-user", &cfg.max_event_streams_per_user, 1, 10'000}}) {
    auto v = opts.get_int(name);
    if (!v) return v.error();
    if (*v < low || *v > high)
      return make_error(errc::invalid_argument, "bad_config",
                        std::string("option --") + name + " must be " + std::to_string(low) + ".." +
                            std::to_string(high));
    *field = static_cast<size_t>(*v);
  }
  auto proxies = trusted_proxies::parse(opts.get("trusted-proxies"));
  if (!proxies) return proxies.error();
  cfg.proxies = std::move(*proxies);
  const auto& metrics = opts.get("metrics-port");
  if (metrics == "off") {
    cfg.metrics_port = -1;
  } else if (!opts.is_set("metrics-port") && cfg.port == 0) {
    cfg.metrics_port = 0;
  } else {
    auto mp = opts.get_int("metrics-port");
    if (!mp) return mp.error();
    if (*mp < 0 || *mp > 65535)
      return make_error(errc::invalid_argument, "bad_config",
                        "option --metrics-port must be 0..65535 or off");
    cfg.metrics_port = static_cast<int>(*mp);
  }
  auto metrics_public = opts.get_bool("metrics-public");
  if (!metrics_public) return metrics_public.error();
  cfg.metrics_public = *metrics_public;
  auto access = opts.get_bool("access-log");
  if (!access) return access.error();
  cfg.access_log = *access;
  auto limits = rate_limits::from(opts);
  if (!limits) return limits.error();
  cfg.limits = std::make_shared<rate_limits>(std::move(*limits));
  cfg.jwt_key = opts.get("jwt-key");
  return cfg;
}

namespace {

constexpr size_t header_limit = 16 * 1024;
// How much of an unwanted body is read and dropped before closing, so that the client sees
// our error response instead of a connection reset. Small: a refused upload must not cost its
// bandwidth.
constexpr size_t linger_limit = 256 * 1024;
constexpr auto linger_time = std::chrono::seconds(1);
// File descriptors kept free for the database, Redis, blobs and logs when connections are capped.
constexpr size_t reserved_fds = 64;

bool valid_request_id(std::string_view id) {
  if (id.empty() || id.size() > 128) return false;
  for (char c : id)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_' && c != '.')
      return false;
  return true;
}

// Failing accepts that retrying at once cannot fix: the process or system is out of something.
bool resource_exhausted(const boost::system::error_code& ec) {
  return ec == net::error::no_descriptors || ec.value() == ENFILE ||
         ec == net::error::no_buffer_space || ec == net::error::no_memory;
}

const char* generic_message(unsigned status) {
  return status == 503 ? "a service this request needs is unavailable; try again later"
                       : "internal error";
}

}  // namespace

class session;

/// One listening socket and the routes it serves.
struct listener {
  listener(net::io_context& ioc, std::shared_ptr<router> r)
      : acceptor(net::make_strand(ioc)), routes(std::move(r)), backoff_timer(ioc) {}
  tcp::acceptor acceptor;
  std::shared_ptr<router> routes;
  net::steady_timer backoff_timer;
  std::chrono::milliseconds backoff{0};
};

struct server::impl : std::enable_shared_from_this<server::impl> {
  impl(server_config c, std::shared_ptr<router> r)
      : cfg(std::move(c)),
        ioc(cfg.threads),
        main(ioc, std::move(r)),
        metrics(ioc, std::make_shared<router>()),
        signals(ioc, SIGINT, SIGTERM),
        drain_timer(ioc),
        deadline(ioc),
        stats(cfg.service) {}

  void accept(listener& l);
  void on_accept(listener& l, beast::error_code ec, tcp::socket socket);
  void begin_shutdown();
  void close_listener();
  void session_ended(const std::string& ip);
  void request_finished();
  void close_idle_sessions();
  void count_refused(const char* reason);
  /// Takes an event-stream slot for `user_id`; false when the user holds the maximum.
  bool take_stream(int64_t user_id);
  void release_stream(int64_t user_id);

  server_config cfg;
  /// The stream tickets this server has taken (each works once).
  ticket_book tickets;
  net::io_context ioc;
  listener main;
  listener metrics;
  net::signal_set signals;
  net::steady_timer drain_timer;
  net::steady_timer deadline;
  metrics::http_metrics stats;
  std::atomic<bool> draining{false};
  std::atomic<bool> closing{false};
  std::mutex sessions_mtx;
  std::vector<std::weak_ptr<session>> sessions;
  std::unordered_map<std::string, size_t> per_ip;
  std::unordered_map<int64_t, size_t> streams;
  std::atomic<int> live{0};
  std::atomic<int> in_flight{0};
};

class session;

/// The event_stream of one session; it posts every write to the session's strand.
class sse_stream final : public event_stream {
 public:
  explicit sse_stream(std::shared_ptr<session> s);
  bool send(const std::string& event, const std::string& data, const std::string& id) override;
  void end() override;
  void client_gone();

 private:
  // Weak: the session's pending read keeps it alive while the client is connected.
  std::weak_ptr<session> session_;
  std::atomic<bool> gone_{false};
};

/// One connection; every handler of it runs on its strand.
class session : public std::enable_shared_from_this<session> {
 public:
  session(tcp::socket&& socket, std::shared_ptr<server::impl> srv, const router& routes,
          net::ip::address peer, std::string counted_ip)
      : stream_(std::move(socket)),
        srv_(std::move(srv)),
        routes_(routes),
        peer_(std::move(peer)),
        counted_ip_(std::move(counted_ip)) {
    ++srv_->live;
  }

  ~session() {
    if (stream_user_) srv_->release_stream(stream_user_);
    srv_->session_ended(counted_ip_);
  }

  void start() {
    net::dispatch(stream_.get_executor(), [self = shared_from_this()] { self->read_header(); });
  }

  /// Closes the connection if it waits for a new request; busy ones close after answering;
  /// event streams end.
  void drain() {
    net::post(stream_.get_executor(), [self = shared_from_this()] {
      if (self->sse_) return self->end_events();
      if (self->idle_ && self->buffer_.size() == 0) {
        beast::error_code ec;
        self->stream_.socket().shutdown(tcp::socket::shutdown_both, ec);
        self->stream_.cancel();
      }
    });
  }

 private:
  void read_header() {
    idle_ = true;
    if (srv_->closing) return close();
    parser_.emplace();
    parser_->header_limit(header_limit);
    // The route's own limit is applied once the header says which route this is.
    parser_->body_limit(boost::none);
    if (first_ || buffer_.size() > 0) return read_header_bytes();
    // Between requests the client may think as long as the idle timeout allows; once it starts
    // a request, the header must arrive within the header timeout.
    stream_.expires_after(srv_->cfg.idle_timeout);
    stream_.async_read_some(buffer_.prepare(4096),
                            [self = shared_from_this()](beast::error_code ec, size_t n) {
                              if (ec) return self->close();
                              self->buffer_.commit(n);
                              self->read_header_bytes();
                            });
  }

  void read_header_bytes() {
    first_ = false;
    stream_.expires_after(srv_->cfg.header_timeout);
    bhttp::async_read_header(
        stream_, buffer_, *parser_,
        [self = shared_from_this()](beast::error_code ec, size_t) { self->on_header(ec); });
  }

  void on_header(beast::error_code ec) {
    idle_ = false;
    if (ec) {
      if (ec == bhttp::error::header_limit)
        return reject(
            make_error(errc::invalid_argument, "header_too_large", "request header too large"),
            "unmatched", 431);
      if (ec == bhttp::error::end_of_stream || ec == net::error::operation_aborted ||
          ec == beast::error::timeout || ec == net::error::connection_reset ||
          ec == net::error::eof)
        return close();
      return reject(make_error(errc::invalid_argument, "bad_request", "malformed HTTP request"),
                    "unmatched");
    }
    started_ = std::chrono::steady_clock::now();
    srv_->stats.in_flight().Increment();
    ++srv_->in_flight;
    counted_ = true;
    auto& req = parser_->get();
    method_ = req.method();
    keep_alive_ = req.keep_alive();
    auto given = req["X-Request-Id"];
    request_id_ = valid_request_id(given) ? std::string(given) : crypto::random_token(12);
    client_ip_ = client_ip(peer_, req["X-Forwarded-For"], srv_->cfg.proxies);
    auto target = std::string_view(req.target().data(), req.target().size());
    auto qpos = target.find('?');
    path_ = std::string(target.substr(0, qpos));
    query_ = qpos == std::string_view::npos ? std::string() : std::string(target.substr(qpos + 1));
    match_ = routes_.find(req.method(), path_);
    if (!match_.found) {
      if (!match_.allowed.empty()) {
        std::string allow;
        for (auto v : match_.allowed)
          allow += (allow.empty() ? "" : ", ") + std::string(bhttp::to_string(v));
        auto res = error_response(make_error(errc::method_not_allowed, "method_not_allowed",
                                             "method not allowed on this path"));
        res.set(bhttp::field::allow, allow);
        return respond_early(std::move(res), "unmatched");
      }
      return respond_early(
          error_response(make_error(errc::not_found, "not_found", "no such route")), "unmatched");
    }
    const auto& opts = match_.found->options;
    route_ = match_.found->path;
    // Who is calling and whether they may is decided from the header alone: a refused client
    // never gets to send (or make us read) its body.
    if (auto refused = authenticate(opts)) return respond_early(error_response(refused), route_);
    if (!opts.limit.empty())
      if (auto wait = srv_->cfg.limits->take(opts.limit, client_ip_, user_ ? user_->user_id : 0)) {
        log::sampled(log::level::warn, "rate_limited",
                     {{"kind", opts.limit}, {"client_ip", client_ip_}, {"route", route_}});
        return respond_early(
            error_response(make_error(errc::too_many_requests, "rate_limited",
                                      "too many requests of this kind; try again later", wait)),
            route_);
      }
    if (auto len = parser_->content_length(); len && *len > opts.body_limit)
      return respond_early(error_response(body_too_large(opts.body_limit)), route_);
    parser_->body_limit(opts.body_limit);
    if (parser_->is_done()) return dispatch();
    if (beast::iequals(req[bhttp::field::expect], "100-continue")) {
      auto cont =
          std::make_shared<bhttp::response<bhttp::empty_body>>(bhttp::status::continue_, 11);
      stream_.expires_after(srv_->cfg.body_timeout);
      return bhttp::async_write(stream_, *cont,
                                [self = shared_from_this(), cont](beast::error_code ec, size_t) {
                                  if (ec) return self->close();
                                  self->read_body();
                                });
    }
    read_body();
  }

  /// Checks the route's token requirement; sets user_ or returns why the caller is refused.
  caf::error authenticate(const route_options& opts) {
    user_.reset();
    if (opts.who == access::anyone) return {};
    const auto& req = parser_->get();
    std::string_view header = req[bhttp::field::authorization];
    if (header.empty() && opts.ticket_in_query) {
      auto query = parse_query(query_);
      if (auto it = query.find("ticket"); it != query.end()) {
        auto claims = srv_->tickets.redeem(it->second, path_, srv_->cfg.jwt_key, unix_now());
        if (!claims) return claims.error();
        if (srv_->cfg.revoked->revoked(*claims)) return token_revoked();
        user_ = std::move(*claims);
        return {};
      }
    }
    bool has_bearer = header.size() >= 7 && beast::iequals(header.substr(0, 7), "Bearer ");
    if (!has_bearer) {
      if (opts.who == access::optional_user) return {};
      return make_error(errc::unauthorized, "unauthorized",
                        "an access token is required (Authorization: Bearer …)");
    }
    auto claims = jwt::verify(std::string_view(header.data() + 7, header.size() - 7),
                              srv_->cfg.jwt_key, unix_now());
    if (!claims) return claims.error();
    if (srv_->cfg.revoked->revoked(*claims)) return token_revoked();
    if (opts.who == access::admin && claims->role != "admin")
      return make_error(errc::forbidden, "forbidden", "admin role required");
    user_ = std::move(*claims);
    return {};
  }

  static caf::error token_revoked() {
    return make_error(errc::unauthorized, "token_revoked",
                      "this token was revoked (the account logged out everywhere, changed its "
                      "password or was disabled): log in again");
  }

  static caf::error body_too_large(size_t limit) {
    return make_error(errc::payload_too_large, "payload_too_large",
                      "request body larger than " + std::to_string(limit) + " bytes");
  }

  /// Reads the body piece by piece: each piece must arrive within the body timeout.
  void read_body() {
    stream_.expires_after(srv_->cfg.body_timeout);
    bhttp::async_read_some(stream_, buffer_, *parser_,
                           [self = shared_from_this()](beast::error_code ec, size_t) {
                             if (!ec && !self->parser_->is_done()) return self->read_body();
                             self->on_body(ec);
                           });
  }

  void on_body(beast::error_code ec) {
    if (ec == bhttp::error::body_limit)
      return respond_early(error_response(body_too_large(match_.found->options.body_limit)),
                           route_);
    if (ec) {
      finish_metrics(route_, 400);
      return close();
    }
    dispatch();
  }

  /// Answers before the body was read: the connection closes afterwards unless there was none.
  void respond_early(response res, const std::string& route) {
    route_ = route;
    if (!parser_->is_done()) force_close_ = true;
    send(std::move(res));
  }

  void reject(caf::error err, const std::string& route, unsigned status = 0) {
    started_ = std::chrono::steady_clock::now();
    route_ = route;
    force_close_ = true;
    auto res = error_response(err);
    if (status) res.result(status);
    send(std::move(res));
  }

  void dispatch() {
    auto ctx = std::make_shared<context>();
    ctx->req = parser_->release();
    ctx->route = route_;
    ctx->params = std::move(match_.params);
    ctx->query = parse_query(query_);
    ctx->request_id = request_id_;
    ctx->client_ip = client_ip_;
    // A copy: the answer's cache headers depend on whether the request was authenticated.
    ctx->user = user_;
    if (ctx->user)
      ctx->stream_ticket = [key = srv_->cfg.jwt_key, who = *ctx->user](const std::string& path) {
        return ticket_book::issue(who, path, key, unix_now());
      };
    auto answered = std::make_shared<std::atomic<bool>>(false);
    responder respond = [self = shared_from_this(), answered](response res) {
      if (answered->exchange(true)) return;
      net::post(self->stream_.get_executor(),
                [self, res = std::move(res)]() mutable { self->send(std::move(res)); });
    };
    auto user = ctx->user;
    ctx->start_events = [weak = weak_from_this(), answered,
                         user]() -> std::shared_ptr<event_stream> {
      auto self = weak.lock();
      if (!self || answered->exchange(true)) return std::make_shared<sse_stream>(nullptr);
      if (user && !self->srv_->take_stream(user->user_id)) {
        auto res = error_response(
            make_error(errc::too_many_requests, "too_many_streams",
                       "too many live event streams for this user; close one first", 5));
        net::post(self->stream_.get_executor(),
                  [self, res = std::move(res)]() mutable { self->send(std::move(res)); });
        return std::make_shared<sse_stream>(nullptr);
      }
      auto stream = std::make_shared<sse_stream>(self);
      net::post(self->stream_.get_executor(), [self, stream, user] {
        if (user) self->stream_user_ = user->user_id;
        self->begin_events(stream, user ? user->expires_at : 0);
      });
      return stream;
    };
    try {
      match_.found->fn(std::move(ctx), respond);
    } catch (const std::exception& e) {
      log::sampled(log::level::error, "handler_exception",
                   {{"route", route_}, {"what", e.what()}, {"request_id", request_id_}});
      respond(error_response(make_error(errc::internal, "internal", "internal error")));
    }
  }

  /// Writes the event-stream header; the body ends when the connection closes, or when the
  /// token that opened it expires (the client reconnects with a fresh one).
  void begin_events(std::shared_ptr<sse_stream> stream, int64_t token_expires_at) {
    sse_ = std::move(stream);
    finish_metrics(route_, 200);
    if (token_expires_at > 0)
      stream_.expires_after(
          std::chrono::seconds(std::max<int64_t>(0, token_expires_at - unix_now())));
    else
      stream_.expires_never();
    if (request_id_.empty()) request_id_ = crypto::random_token(12);
    sse_queue_.push_back(
        "HTTP/1.1 200 OK\r\nServer: pixhive\r\nContent-Type: text/event-stream\r\n"
        "Cache-Control: no-cache\r\nX-Accel-Buffering: no\r\nX-Request-Id: " +
        request_id_ + "\r\nConnection: close\r\n\r\n");
    write_events();
    // Reading tells us when the client goes away (it sends nothing more).
    discard_.resize(4096);
    stream_.async_read_some(net::buffer(discard_),
                            [self = shared_from_this()](beast::error_code, size_t) {
                              self->sse_->client_gone();
                              self->sse_ending_ = true;
                              if (!self->sse_writing_) self->close();
                            });
    if (srv_->closing) end_events();
  }

  void queue_event(std::string frame) {
    if (sse_ending_) return;
    sse_queue_.push_back(std::move(frame));
    write_events();
  }

  void end_events() {
    sse_ending_ = true;
    if (!sse_writing_) write_events();
  }

  void write_events() {
    if (sse_writing_) return;
    if (sse_queue_.empty()) {
      if (sse_ending_) close();
      return;
    }
    sse_writing_ = true;
    auto frame = std::make_shared<std::string>(std::move(sse_queue_.front()));
    sse_queue_.pop_front();
    net::async_write(stream_, net::buffer(*frame),
                     [self = shared_from_this(), frame](beast::error_code ec, size_t) {
                       self->sse_writing_ = false;
                       if (ec) {
                         self->sse_->client_gone();
                         return self->close();
                       }
                       self->write_events();
                     });
  }

  void finish_metrics(const std::string& route, unsigned status) {
    if (!counted_) return;
    counted_ = false;
    srv_->stats.in_flight().Decrement();
    srv_->request_finished();
    auto secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - started_).count();
    auto method = std::string(bhttp::to_string(method_));
    srv_->stats.observe(method, route, static_cast<int>(status), secs);
    if (srv_->cfg.access_log && log::enabled(log::level::info))
      log::info("http_request", {{"service", srv_->cfg.service},
                                 {"method", method},
                                 {"route", route},
                                 {"path", path_},
                                 {"status", status},
                                 {"duration_ms", secs * 1000},
                                 {"request_id", request_id_}});
  }

  /// Error bodies name the request id, and never carry what a store or another service said:
  /// that goes to the log, under the same request id.
  void finish_error_body(response& res) {
    auto status = res.result_int();
    if (status < 400 || res[bhttp::field::content_type] != "application/json") return;
    auto body = parse_json_or_null(res.body());
    if (!body.is_object() || !body.contains("error") || !body["error"].is_object()) return;
    auto& err = body["error"];
    if (status >= 500) {
      log::sampled(log::level::error, "request_failed",
                   {{"route", route_},
                    {"status", status},
                    {"code", err.value("code", "")},
                    {"detail", err.value("message", "")},
                    {"request_id", request_id_}},
                   20);
      err["message"] = generic_message(status);
    }
    err["request_id"] = request_id_;
    res.body() = body.dump() + "\n";
  }

  /// What a route answers may depend on who asks: such answers never go into a shared cache as
  /// one for everybody. Only an explicit `public` (a ready public photo's bytes) stays public.
  void finish_cache_headers(response& res) {
    if (!match_.found || match_.found->options.who == access::anyone) return;
    if (match_.found->options.who == access::optional_user)
      res.set(bhttp::field::vary, "Authorization");
    if (user_ && res[bhttp::field::cache_control].empty())
      res.set(bhttp::field::cache_control, "private, no-cache");
  }

  void send(response res) {
    if (request_id_.empty()) request_id_ = crypto::random_token(12);
    res.version(11);
    res.set(bhttp::field::server, "pixhive");
    res.set("X-Request-Id", request_id_);
    finish_cache_headers(res);
    finish_error_body(res);
    res.keep_alive(keep_alive_ && !force_close_ && !srv_->draining);
    res.prepare_payload();
    finish_metrics(route_, res.result_int());
    res_ = std::make_shared<response>(std::move(res));
    // The whole write has one deadline: generous enough for a large photo to a slow phone
    // (64 KiB/s), bounded so a client that stops reading does not hold the connection forever.
    stream_.expires_after(std::chrono::seconds(30) +
                          std::chrono::seconds(res_->body().size() / (64 * 1024)));
    bhttp::async_write(stream_, *res_, [self = shared_from_this()](beast::error_code ec, size_t) {
      self->on_write(ec);
    });
  }

  void on_write(beast::error_code ec) {
    bool close_now = ec || res_->need_eof();
    res_.reset();
    request_id_.clear();
    // Nothing of this request (its route, its caller) may shape the next one's answer.
    match_ = {};
    user_.reset();
    keep_alive_ = true;
    if (!close_now) return read_header();
    if (!ec && force_close_) return linger();
    close();
  }

  /// Half-closes and reads what the client still sends for a moment, then closes (like nginx's
  /// lingering close), so a client still uploading a refused body reads our answer instead of a
  /// reset.
  void linger() {
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
    stream_.expires_after(linger_time);
    discard_.resize(64 * 1024);
    read_discard();
  }

  void read_discard() {
    stream_.async_read_some(net::buffer(discard_),
                            [self = shared_from_this()](beast::error_code ec, size_t n) {
                              self->lingered_ += n;
                              if (ec || self->lingered_ > linger_limit) return self->close();
                              self->read_discard();
                            });
  }

  void close() {
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_both, ec);
    stream_.socket().close(ec);
  }

  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  std::shared_ptr<server::impl> srv_;
  const router& routes_;
  net::ip::address peer_;
  std::string counted_ip_;
  std::string client_ip_;
  std::optional<bhttp::request_parser<bhttp::string_body>> parser_;
  router::match match_;
  std::optional<jwt::claims> user_;
  std::shared_ptr<response> res_;
  std::string path_, query_, route_, request_id_;
  std::string discard_;
  size_t lingered_ = 0;
  bhttp::verb method_ = bhttp::verb::unknown;
  std::chrono::steady_clock::time_point started_;
  bool idle_ = true;
  bool first_ = true;
  bool counted_ = false;
  bool keep_alive_ = true;
  bool force_close_ = false;
  std::shared_ptr<sse_stream> sse_;
  int64_t stream_user_ = 0;
  std::deque<std::string> sse_queue_;
  bool sse_writing_ = false;
  bool sse_ending_ = false;

  friend class sse_stream;
};

sse_stream::sse_stream(std::shared_ptr<session> s) : session_(s) {
  if (!s) gone_ = true;
}

bool sse_stream::send(const std::string& event, const std::string& data, const std::string& id) {
  if (gone_) return false;
  std::string frame;
  if (!id.empty()) frame += "id: " + id + "\n";
  frame += "event: " + event + "\n";
  size_t pos = 0;
  do {
    auto nl = data.find('\n', pos);
    frame += "data: " + data.substr(pos, nl == std::string::npos ? nl : nl - pos) + "\n";
    pos = nl == std::string::npos ? data.size() + 1 : nl + 1;
  } while (pos <= data.size());
  frame += "\n";
  auto s = session_.lock();
  if (!s) return false;
  net::post(s->stream_.get_executor(),
            [s, frame = std::move(frame)]() mutable { s->queue_event(std::move(frame)); });
  return true;
}

void sse_stream::end() {
  if (gone_.exchange(true)) return;
  if (auto s = session_.lock()) net::post(s->stream_.get_executor(), [s] { s->end_events(); });
}

void sse_stream::client_gone() {
  gone_ = true;
}

void server::impl::count_refused(const char* reason) {
  stats.refused(reason).Increment();
}

void server::impl::accept(listener& l) {
  l.acceptor.async_accept(net::make_strand(ioc),
                          [self = shared_from_this(), &l](beast::error_code ec, tcp::socket s) {
                            self->on_accept(l, ec, std::move(s));
                          });
}

void server::impl::on_accept(listener& l, beast::error_code ec, tcp::socket socket) {
  if (closing || ec == net::error::operation_aborted) return;
  if (ec) {
    // Out of descriptors (or memory) the next accept fails at once too: wait instead of spinning,
    // longer each time, until connections close.
    count_refused("accept_failed");
    l.backoff = std::min(std::chrono::milliseconds(1000),
                         std::max(std::chrono::milliseconds(10), l.backoff * 2));
    if (!resource_exhausted(ec)) l.backoff = std::chrono::milliseconds(10);
    log::sampled(log::level::warn, "accept_failed",
                 {{"error", ec.message()}, {"retry_ms", l.backoff.count()}}, 1);
    l.backoff_timer.expires_after(l.backoff);
    l.backoff_timer.async_wait([self = shared_from_this(), &l](beast::error_code wait_ec) {
      if (!wait_ec && !self->closing) self->accept(l);
    });
    return;
  }
  l.backoff = std::chrono::milliseconds(0);
  beast::error_code peer_ec;
  auto peer = socket.remote_endpoint(peer_ec).address();
  auto ip = client_ip(peer, {}, trusted_proxies{});
  // Connections from a trusted proxy carry many clients: only the total cap applies to them.
  bool per_ip_counted = !cfg.proxies.contains(peer);
  const char* refused = nullptr;
  {
    std::lock_guard<std::mutex> guard{sessions_mtx};
    if (static_cast<size_t>(live.load()) >= cfg.max_connections)
      refused = "max_connections";
    else if (per_ip_counted && per_ip[ip] >= cfg.max_connections_per_ip)
      refused = "max_connections_per_ip";
    else if (per_ip_counted)
      ++per_ip[ip];
  }
  if (refused) {
    // Closed at once: no buffers, no timers, nothing the client can hold.
    count_refused(refused);
    log::sampled(log::level::warn, "connection_refused", {{"reason", refused}, {"client_ip", ip}},
                 1);
    beast::error_code close_ec;
    socket.close(close_ec);
  } else {
    auto s = std::make_shared<session>(std::move(socket), shared_from_this(), *l.routes, peer,
                                       per_ip_counted ? ip : std::string());
    {
      std::lock_guard<std::mutex> guard{sessions_mtx};
      std::erase_if(sessions, [](auto& w) { return w.expired(); });
      sessions.push_back(s);
    }
    s->start();
  }
  accept(l);
}

bool server::impl::take_stream(int64_t user_id) {
  std::lock_guard<std::mutex> guard{sessions_mtx};
  auto& n = streams[user_id];
  if (n >= cfg.max_event_streams_per_user) return false;
  ++n;
  return true;
}

void server::impl::release_stream(int64_t user_id) {
  std::lock_guard<std::mutex> guard{sessions_mtx};
  if (auto it = streams.find(user_id); it != streams.end() && --it->second == 0) streams.erase(it);
}

void server::impl::begin_shutdown() {
  if (draining.exchange(true)) return;
  log::info("shutdown_started", {{"drain_ms", cfg.drain.count()}});
  drain_timer.expires_after(cfg.drain);
  drain_timer.async_wait(
      [self = shared_from_this()](beast::error_code) { self->close_listener(); });
}

void server::impl::close_listener() {
  closing = true;
  for (auto* l : {&main, &metrics})
    net::post(l->acceptor.get_executor(), [self = shared_from_this(), l] {
      beast::error_code ec;
      l->acceptor.close(ec);
      l->backoff_timer.cancel();
    });
  beast::error_code ec;
  signals.cancel(ec);
  deadline.expires_after(cfg.shutdown_timeout);
  deadline.async_wait([self = shared_from_this()](beast::error_code ec) {
    if (ec) return;
    log::warn("shutdown_timeout", {{"open_connections", self->live.load()}});
    self->ioc.stop();
  });
  log::info("listener_closed",
            {{"open_connections", live.load()}, {"in_flight", in_flight.load()}});
  if (in_flight == 0) close_idle_sessions();
  if (live == 0) deadline.cancel();
}

// Idle keep-alive connections stay open while requests are in flight (a client may still ask
// /readyz on them and is told Connection: close); once nothing is in flight they are closed.
void server::impl::close_idle_sessions() {
  std::vector<std::shared_ptr<session>> open;
  {
    std::lock_guard<std::mutex> guard{sessions_mtx};
    for (auto& w : sessions)
      if (auto s = w.lock()) open.push_back(std::move(s));
  }
  for (auto& s : open) s->drain();
}

void server::impl::request_finished() {
  if (--in_flight == 0 && closing) close_idle_sessions();
}

void server::impl::session_ended(const std::string& ip) {
  if (!ip.empty()) {
    std::lock_guard<std::mutex> guard{sessions_mtx};
    if (auto it = per_ip.find(ip); it != per_ip.end() && --it->second == 0) per_ip.erase(it);
  }
  if (--live == 0 && closing)
    net::post(ioc, [self = shared_from_this()] { self->deadline.cancel(); });
}

server::server(server_config cfg, std::shared_ptr<router> routes)
    : impl_(std::make_shared<impl>(std::move(cfg), std::move(routes))) {
  // Every error code an I/O thread may meet is made once here, while descriptors are free:
  // UBSan's first check of an object's dynamic type needs a pipe, and out of descriptors (the
  // accept back-off test) it reported asio's misc category as an invalid object and stopped the
  // process. Release builds have no such check; this costs nothing there.
  for (boost::system::error_code ec :
       {boost::system::error_code(net::error::eof),
        boost::system::error_code(net::error::host_not_found),
        boost::system::error_code(net::error::service_not_found),
        boost::system::error_code(net::error::no_descriptors),
        boost::system::error_code(net::error::operation_aborted),
        boost::system::error_code(beast::http::error::end_of_stream),
        boost::system::error_code(beast::error::timeout),
        boost::system::error_code(ENFILE, boost::system::generic_category())})
    (void)ec.message();
}

server::~server() = default;

void server::add_standard_routes(readiness_check check, link_report links) {
  std::weak_ptr<impl> weak = impl_;
  auto healthz = [](std::shared_ptr<context>, responder respond) {
    respond(json_response(200, {{"status", "ok"}}));
  };
  auto readyz = [weak, check, links](std::shared_ptr<context>, responder respond) {
    auto self = weak.lock();
    if (!self || self->draining) return respond(json_response(503, {{"status", "shutting_down"}}));
    auto answer = [respond, weak, links](bool ok) {
      // A shutdown may have begun while the stores were asked.
      auto self = weak.lock();
      if (!self || self->draining)
        return respond(json_response(503, {{"status", "shutting_down"}}));
      nlohmann::json body{{"status", "ready"}};
      if (links) {
        bool linked = true;
        body["links"] = links(linked);
        ok = ok && linked;
      }
      if (!ok) body["status"] = "not_ready";
      respond(json_response(ok ? 200 : 503, body));
    };
    if (!check) return answer(true);
    check(answer);
  };
  auto metrics_handler = [](std::shared_ptr<context>, responder respond) {
    response res{bhttp::status::ok, 11};
    res.set(bhttp::field::content_type, "text/plain; version=0.0.4; charset=utf-8");
    res.body() = metrics::serialize();
    respond(std::move(res));
  };
  for (auto* r : {impl_->main.routes.get(), impl_->metrics.routes.get()}) {
    r->add(bhttp::verb::get, "/healthz", healthz);
    r->add(bhttp::verb::get, "/readyz", readyz);
  }
  impl_->metrics.routes->add(bhttp::verb::get, "/metrics", metrics_handler);
  // The public port answers /metrics only when asked to: behind an ingress it must not leak.
  if (impl_->cfg.metrics_public || impl_->cfg.metrics_port < 0)
    impl_->main.routes->add(bhttp::verb::get, "/metrics", metrics_handler);
}

namespace {

result<uint16_t> bind_listener(tcp::acceptor& acc, const std::string& address, uint16_t port) {
  beast::error_code ec;
  auto addr = net::ip::make_address(address, ec);
  if (ec)
    return make_error(errc::invalid_argument, "bad_config",
                      "option --address: '" + address + "' is not an IP address");
  tcp::endpoint ep{addr, port};
  acc.open(ep.protocol(), ec);
  if (!ec) acc.set_option(net::socket_base::reuse_address(true), ec);
  if (!ec) acc.bind(ep, ec);
  if (!ec) acc.listen(net::socket_base::max_listen_connections, ec);
  if (ec)
    return make_error(
        errc::unavailable, "listen_failed",
        "cannot listen on " + address + ":" + std::to_string(port) + ": " + ec.message());
  return acc.local_endpoint().port();
}

}  // namespace

result<uint16_t> server::listen() {
  auto& cfg = impl_->cfg;
  // Past the open-files limit accept() fails; stay below it so that refusing is a choice.
  rlimit nofile{};
  if (::getrlimit(RLIMIT_NOFILE, &nofile) == 0 && nofile.rlim_cur != RLIM_INFINITY &&
      nofile.rlim_cur > 2 * reserved_fds) {
    auto cap = static_cast<size_t>(nofile.rlim_cur) - reserved_fds;
    if (cfg.max_connections > cap) {
      log::warn("max_connections_lowered", {{"configured", cfg.max_connections},
                                            {"open_files_limit", nofile.rlim_cur},
                                            {"max_connections", cap}});
      cfg.max_connections = cap;
    }
  }
  auto port = bind_listener(impl_->main.acceptor, cfg.address, cfg.port);
  if (!port) return port;
  if (cfg.metrics_port >= 0) {
    auto mp = bind_listener(impl_->metrics.acceptor, cfg.address,
                            static_cast<uint16_t>(cfg.metrics_port));
    if (!mp) return mp;
  }
  return port;
}

uint16_t server::metrics_port() const {
  beast::error_code ec;
  if (!impl_->metrics.acceptor.is_open()) return 0;
  auto ep = impl_->metrics.acceptor.local_endpoint(ec);
  return ec ? 0 : ep.port();
}

void server::run() {
  impl_->signals.async_wait([weak = std::weak_ptr<impl>(impl_)](beast::error_code ec, int sig) {
    if (ec) return;
    if (auto self = weak.lock()) {
      log::info("signal_received", {{"signal", sig}});
      self->begin_shutdown();
    }
  });
  impl_->accept(impl_->main);
  if (impl_->metrics.acceptor.is_open()) impl_->accept(impl_->metrics);
  std::vector<std::thread> extra;
  for (int i = 1; i < impl_->cfg.threads; ++i) extra.emplace_back([this] { impl_->ioc.run(); });
  impl_->ioc.run();
  for (auto& t : extra) t.join();
  log::info("server_stopped");
}

void server::shutdown() {
  net::post(impl_->ioc, [self = impl_] { self->begin_shutdown(); });
}

}  // namespace pixhive::http
