// Admission and drain: which connections are let in (a total and a per-address cap, with a
// back-off when accepts fail), how many are open and busy, and the graceful shutdown that stops
// taking new ones and lets the busy ones finish.
#include <boost/asio/post.hpp>

#include "pixhive/core/log.hpp"
#include "server_impl.hpp"
#include "session.hpp"

namespace pixhive::http {

namespace net = boost::asio;
namespace beast = boost::beast;
using tcp = net::ip::tcp;

namespace {

// Failing accepts that retrying at once cannot fix: the process or system is out of something.
bool resource_exhausted(const boost::system::error_code& ec) {
  return ec == net::error::no_descriptors || ec.value() == ENFILE ||
         ec == net::error::no_buffer_space || ec == net::error::no_memory;
}

}  // namespace

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
    auto s = std::make_shared<session>(std::move(socket), shared_from_this(), l.requests, peer,
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

void server::impl::session_ended(const std::string& ip) {
  if (!ip.empty()) {
    std::lock_guard<std::mutex> guard{sessions_mtx};
    if (auto it = per_ip.find(ip); it != per_ip.end() && --it->second == 0) per_ip.erase(it);
  }
  if (--live == 0 && closing)
    net::post(ioc, [self = shared_from_this()] { self->deadline.cancel(); });
}

void server::impl::request_started() {
  ++in_flight;
}

void server::impl::request_finished() {
  if (--in_flight == 0 && closing) close_idle_sessions();
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

}  // namespace pixhive::http
