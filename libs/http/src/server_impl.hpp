#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core/error.hpp>

#include "middleware.hpp"
#include "pipeline.hpp"
#include "pixhive/http/server.hpp"
#include "pixhive/http/stream_ticket.hpp"
#include "pixhive/metrics/metrics.hpp"
#include "sse.hpp"

namespace pixhive::http {

class session;

/// One listening socket, the routes it serves and its request side.
struct listener {
  listener(boost::asio::io_context& ioc, server::impl& srv, std::shared_ptr<router> r)
      : acceptor(boost::asio::make_strand(ioc)),
        routes(std::move(r)),
        requests(srv, *routes),
        backoff_timer(ioc) {}
  boost::asio::ip::tcp::acceptor acceptor;
  std::shared_ptr<router> routes;
  pipeline requests;
  boost::asio::steady_timer backoff_timer;
  std::chrono::milliseconds backoff{0};
};

/// The server's state. server.cpp builds it and runs it; admission.cpp lets connections in,
/// counts them and drains them at shutdown; session.cpp serves one connection; pipeline.cpp
/// carries a request through the middleware to its handler; health.cpp adds the standard routes.
struct server::impl : std::enable_shared_from_this<server::impl> {
  impl(server_config c, std::shared_ptr<router> r);

  // admission.cpp: the accept loop and its caps.
  void accept(listener& l);
  void on_accept(listener& l, boost::beast::error_code ec, boost::asio::ip::tcp::socket socket);
  void count_refused(const char* reason);
  void session_ended(const std::string& ip);
  // admission.cpp: requests in flight and the drain.
  void request_started();
  void request_finished();
  void begin_shutdown();
  void close_listener();
  void close_idle_sessions();

  server_config cfg;
  boost::asio::io_context ioc;
  metrics::http_metrics stats;
  /// The stream tickets this server has taken (each works once).
  ticket_book tickets;
  /// Live event streams per user.
  stream_slots streams;
  /// authentication, rate limits, metrics and access log, cache headers, error bodies.
  chain middleware;
  listener main;
  listener metrics;
  boost::asio::signal_set signals;
  boost::asio::steady_timer drain_timer;
  boost::asio::steady_timer deadline;
  /// Shutting down: /readyz answers 503 and answers say Connection: close.
  std::atomic<bool> draining{false};
  /// The listener is closed: idle connections close, event streams end.
  std::atomic<bool> closing{false};
  std::mutex sessions_mtx;
  std::vector<std::weak_ptr<session>> sessions;
  std::unordered_map<std::string, size_t> per_ip;
  std::atomic<int> live{0};
  std::atomic<int> in_flight{0};
};

}  // namespace pixhive::http
