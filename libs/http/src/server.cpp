// The server: builds its state, binds the listeners, runs the I/O threads and starts the
// shutdown. The parts live in their own units: server_config.cpp (options), admission.cpp
// (connection caps and drain), session.cpp (transport), pipeline.cpp (a request's way through
// the middleware to its handler), middleware/ (authentication, rate limits, metrics and access
// log, cache headers, error bodies), sse.cpp (event streams) and health.cpp (standard routes).
#include "pixhive/http/server.hpp"

#include <thread>

#include <sys/resource.h>

#include <boost/asio/post.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include "pixhive/core/log.hpp"
#include "server_impl.hpp"

namespace pixhive::http {

namespace net = boost::asio;
namespace beast = boost::beast;
using tcp = net::ip::tcp;

namespace {

// File descriptors kept free for the database, Redis, blobs and logs when connections are capped.
constexpr size_t reserved_fds = 64;

/// The middleware every request goes through, in order. Each on_request runs in this order, each
/// on_response in the reverse one (cache headers, then the error body):
/// 1. metrics and access log: first in, so that every request with a header is counted, the
///    refused ones too, and last out;
/// 2. error shaping and 3. cache headers shape every response, refusals included;
/// 4. authentication, then 5. rate limiting, which counts per user once the caller is known.
chain standard_chain(const server_config& cfg, metrics::http_metrics& stats, ticket_book& tickets) {
  chain out;
  out.push_back(make_metrics_and_access_log(stats, cfg));
  out.push_back(make_error_shaping());
  out.push_back(make_cache_headers());
  out.push_back(make_authentication(cfg, tickets));
  out.push_back(make_rate_limiting(cfg));
  return out;
}

}  // namespace

server::impl::impl(server_config c, std::shared_ptr<router> r)
    : cfg(std::move(c)),
      ioc(cfg.threads),
      stats(cfg.service),
      streams(cfg.max_event_streams_per_user),
      middleware(standard_chain(cfg, stats, tickets)),
      main(ioc, *this, std::move(r)),
      metrics(ioc, *this, std::make_shared<router>()),
      signals(ioc, SIGINT, SIGTERM),
      drain_timer(ioc),
      deadline(ioc) {}

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
