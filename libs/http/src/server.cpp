#include "pixhive/http/server.hpp"

#include <atomic>
#include <deque>
#include <mutex>
#include <optional>
#include <thread>

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
#include "pixhive/core/log.hpp"
#include "pixhive/http/json.hpp"
#include "pixhive/metrics/metrics.hpp"

namespace pixhive::http {

namespace net = boost::asio;
namespace beast = boost::beast;
using tcp = net::ip::tcp;

void server_config::declare(options& opts) {
  opts.add("address", "0.0.0.0", "address the HTTP server listens on")
      .add("port", "8080", "HTTP port; 0 picks a free port and logs it")
      .add("http-threads", "2", "threads serving HTTP I/O (never blocked by database work)")
      .add("read-timeout", "30s", "time allowed to read one request's header and body")
      .add("idle-timeout", "60s", "how long an idle keep-alive connection is kept open")
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
       {std::pair{"read-timeout", &cfg.read_timeout}, std::pair{"idle-timeout", &cfg.idle_timeout},
        std::pair{"shutdown-drain", &cfg.drain},
        std::pair{"shutdown-timeout", &cfg.shutdown_timeout}}) {
    auto d = opts.get_duration(name);
    if (!d) return d.error();
    *field = *d;
  }
  auto access = opts.get_bool("access-log");
  if (!access) return access.error();
  cfg.access_log = *access;
  cfg.jwt_key = opts.get("jwt-key");
  return cfg;
}

namespace {

constexpr size_t header_limit = 16 * 1024;
// How much of an unwanted body is read and dropped before closing, so that the client sees
// our error response instead of a connection reset.
constexpr size_t linger_limit = 64 * 1024 * 1024;
constexpr auto linger_time = std::chrono::seconds(2);

bool valid_request_id(std::string_view id) {
  if (id.empty() || id.size() > 128) return false;
  for (char c : id)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_' && c != '.')
      return false;
  return true;
}

}  // namespace

class session;

struct server::impl : std::enable_shared_from_this<server::impl> {
  impl(server_config c, std::shared_ptr<router> r)
      : cfg(std::move(c)),
        routes(std::move(r)),
        ioc(cfg.threads),
        acceptor(net::make_strand(ioc)),
        signals(ioc, SIGINT, SIGTERM),
        drain_timer(ioc),
        deadline(ioc),
        stats(cfg.service) {}

  void accept();
  void begin_shutdown();
  void close_listener();
  void session_ended();
  void request_finished();
  void close_idle_sessions();

  server_config cfg;
  std::shared_ptr<router> routes;
  net::io_context ioc;
  tcp::acceptor acceptor;
  net::signal_set signals;
  net::steady_timer drain_timer;
  net::steady_timer deadline;
  metrics::http_metrics stats;
  std::atomic<bool> draining{false};
  std::atomic<bool> closing{false};
  std::mutex sessions_mtx;
  std::vector<std::weak_ptr<session>> sessions;
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
  session(tcp::socket&& socket, std::shared_ptr<server::impl> srv)
      : stream_(std::move(socket)), srv_(std::move(srv)) {
    ++srv_->live;
  }

  ~session() { srv_->session_ended(); }

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
    stream_.expires_after(first_ ? srv_->cfg.read_timeout : srv_->cfg.idle_timeout);
    first_ = false;
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
    auto target = std::string_view(req.target().data(), req.target().size());
    auto qpos = target.find('?');
    path_ = std::string(target.substr(0, qpos));
    query_ = qpos == std::string_view::npos ? std::string() : std::string(target.substr(qpos + 1));
    match_ = srv_->routes->find(req.method(), path_);
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
    if (auto len = parser_->content_length(); len && *len > opts.body_limit)
      return respond_early(error_response(body_too_large(opts.body_limit)), match_.found->path);
    parser_->body_limit(opts.body_limit);
    if (parser_->is_done()) return dispatch();
    if (beast::iequals(req[bhttp::field::expect], "100-continue")) {
      auto cont =
          std::make_shared<bhttp::response<bhttp::empty_body>>(bhttp::status::continue_, 11);
      stream_.expires_after(srv_->cfg.read_timeout);
      return bhttp::async_write(stream_, *cont,
                                [self = shared_from_this(), cont](beast::error_code ec, size_t) {
                                  if (ec) return self->close();
                                  self->read_body();
                                });
    }
    read_body();
  }

  static caf::error body_too_large(size_t limit) {
    return make_error(errc::payload_too_large, "payload_too_large",
                      "request body larger than " + std::to_string(limit) + " bytes");
  }

  void read_body() {
    stream_.expires_after(srv_->cfg.read_timeout);
    bhttp::async_read(
        stream_, buffer_, *parser_,
        [self = shared_from_this()](beast::error_code ec, size_t) { self->on_body(ec); });
  }

  void on_body(beast::error_code ec) {
    if (ec == bhttp::error::body_limit)
      return respond_early(error_response(body_too_large(match_.found->options.body_limit)),
                           match_.found->path);
    if (ec) {
      finish_metrics(match_.found->path, 400);
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
    ctx->route = match_.found->path;
    ctx->params = std::move(match_.params);
    ctx->query = parse_query(query_);
    auto given = ctx->req["X-Request-Id"];
    ctx->request_id = valid_request_id(given) ? std::string(given) : crypto::random_token(12);
    request_id_ = ctx->request_id;
    route_ = ctx->route;
    keep_alive_ = ctx->req.keep_alive();
    const auto& opts = match_.found->options;
    if (opts.who != access::anyone) {
      std::string_view header = ctx->req[bhttp::field::authorization];
      std::string from_query;
      if (header.empty() && opts.token_in_query && ctx->query.count("access_token")) {
        from_query = "Bearer " + ctx->query.at("access_token");
        header = from_query;
      }
      bool has_bearer = header.size() >= 7 && beast::iequals(header.substr(0, 7), "Bearer ");
      if (!has_bearer && opts.who != access::optional_user)
        return send(
            error_response(make_error(errc::unauthorized, "unauthorized",
                                      "an access token is required (Authorization: Bearer …)")));
      if (has_bearer) {
        auto claims = jwt::verify(std::string_view(header.data() + 7, header.size() - 7),
                                  srv_->cfg.jwt_key, unix_now());
        if (!claims) return send(error_response(claims.error()));
        if (opts.who == access::admin && claims->role != "admin")
          return send(
              error_response(make_error(errc::forbidden, "forbidden", "admin role required")));
        ctx->user = std::move(*claims);
      }
    }
    auto answered = std::make_shared<std::atomic<bool>>(false);
    responder respond = [self = shared_from_this(), answered](response res) {
      if (answered->exchange(true)) return;
      net::post(self->stream_.get_executor(),
                [self, res = std::move(res)]() mutable { self->send(std::move(res)); });
    };
    ctx->start_events = [weak = weak_from_this(), answered]() -> std::shared_ptr<event_stream> {
      auto self = weak.lock();
      if (!self || answered->exchange(true)) return std::make_shared<sse_stream>(nullptr);
      auto stream = std::make_shared<sse_stream>(self);
      net::post(self->stream_.get_executor(), [self, stream] { self->begin_events(stream); });
      return stream;
    };
    try {
      match_.found->fn(std::move(ctx), respond);
    } catch (const std::exception& e) {
      log::error("handler_exception", {{"route", route_}, {"what", e.what()}});
      respond(error_response(make_error(errc::internal, "internal", "internal error")));
    }
  }

  /// Writes the event-stream header; the body ends when the connection closes.
  void begin_events(std::shared_ptr<sse_stream> stream) {
    sse_ = std::move(stream);
    finish_metrics(route_, 200);
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

  void send(response res) {
    if (request_id_.empty()) request_id_ = crypto::random_token(12);
    res.version(11);
    res.set(bhttp::field::server, "pixhive");
    res.set("X-Request-Id", request_id_);
    res.keep_alive(keep_alive_ && !force_close_ && !srv_->draining);
    res.prepare_payload();
    finish_metrics(route_, res.result_int());
    res_ = std::make_shared<response>(std::move(res));
    stream_.expires_after(srv_->cfg.read_timeout);
    bhttp::async_write(stream_, *res_, [self = shared_from_this()](beast::error_code ec, size_t) {
      self->on_write(ec);
    });
  }

  void on_write(beast::error_code ec) {
    bool close_now = ec || res_->need_eof();
    res_.reset();
    request_id_.clear();
    keep_alive_ = true;
    if (!close_now) return read_header();
    if (!ec && force_close_) return linger();
    close();
  }

  /// Half-closes and reads what the client still sends, then closes (like nginx's lingering
  /// close), so a client that is still uploading a rejected body reads our answer.
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
  std::optional<bhttp::request_parser<bhttp::string_body>> parser_;
  router::match match_;
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

void server::impl::accept() {
  acceptor.async_accept(net::make_strand(ioc),
                        [self = shared_from_this()](beast::error_code ec, tcp::socket socket) {
                          if (ec) {
                            if (ec == net::error::operation_aborted || self->closing) return;
                            log::warn("accept_failed", {{"error", ec.message()}});
                          } else if (!self->closing) {
                            auto s = std::make_shared<session>(std::move(socket), self);
                            {
                              std::lock_guard<std::mutex> guard{self->sessions_mtx};
                              std::erase_if(self->sessions, [](auto& w) { return w.expired(); });
                              self->sessions.push_back(s);
                            }
                            s->start();
                          }
                          if (!self->closing) self->accept();
                        });
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
  net::post(acceptor.get_executor(), [self = shared_from_this()] {
    beast::error_code ec;
    self->acceptor.close(ec);
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

void server::impl::session_ended() {
  if (--live == 0 && closing)
    net::post(ioc, [self = shared_from_this()] { self->deadline.cancel(); });
}

server::server(server_config cfg, std::shared_ptr<router> routes)
    : impl_(std::make_shared<impl>(std::move(cfg), std::move(routes))) {}

server::~server() = default;

void server::add_standard_routes(readiness_check check) {
  std::weak_ptr<impl> weak = impl_;
  impl_->routes->add(bhttp::verb::get, "/healthz", [](std::shared_ptr<context>, responder respond) {
    respond(json_response(200, {{"status", "ok"}}));
  });
  impl_->routes->add(bhttp::verb::get, "/readyz",
                     [weak, check](std::shared_ptr<context>, responder respond) {
                       auto self = weak.lock();
                       if (!self || self->draining)
                         return respond(json_response(503, {{"status", "shutting_down"}}));
                       if (!check) return respond(json_response(200, {{"status", "ready"}}));
                       check([respond, weak](bool ok) {
                         // A shutdown may have begun while the stores were asked.
                         auto self = weak.lock();
                         if (!self || self->draining)
                           return respond(json_response(503, {{"status", "shutting_down"}}));
                         respond(ok ? json_response(200, {{"status", "ready"}})
                                    : json_response(503, {{"status", "not_ready"}}));
                       });
                     });
  impl_->routes->add(bhttp::verb::get, "/metrics", [](std::shared_ptr<context>, responder respond) {
    response res{bhttp::status::ok, 11};
    res.set(bhttp::field::content_type, "text/plain; version=0.0.4; charset=utf-8");
    res.body() = metrics::serialize();
    respond(std::move(res));
  });
}

result<uint16_t> server::listen() {
  beast::error_code ec;
  auto addr = net::ip::make_address(impl_->cfg.address, ec);
  if (ec)
    return make_error(errc::invalid_argument, "bad_config",
                      "option --address: '" + impl_->cfg.address + "' is not an IP address");
  tcp::endpoint ep{addr, impl_->cfg.port};
  auto& acc = impl_->acceptor;
  acc.open(ep.protocol(), ec);
  if (!ec) acc.set_option(net::socket_base::reuse_address(true), ec);
  if (!ec) acc.bind(ep, ec);
  if (!ec) acc.listen(net::socket_base::max_listen_connections, ec);
  if (ec)
    return make_error(errc::unavailable, "listen_failed",
                      "cannot listen on " + impl_->cfg.address + ":" +
                          std::to_string(impl_->cfg.port) + ": " + ec.message());
  return acc.local_endpoint().port();
}

void server::run() {
  impl_->signals.async_wait([weak = std::weak_ptr<impl>(impl_)](beast::error_code ec, int sig) {
    if (ec) return;
    if (auto self = weak.lock()) {
      log::info("signal_received", {{"signal", sig}});
      self->begin_shutdown();
    }
  });
  impl_->accept();
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
