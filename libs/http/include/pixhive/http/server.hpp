#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "pixhive/core/config.hpp"
#include "pixhive/core/error.hpp"
#include "pixhive/http/client_ip.hpp"
#include "pixhive/http/rate_limit.hpp"
#include "pixhive/http/revocations.hpp"
#include "pixhive/http/router.hpp"

namespace pixhive::http {

/// Settings of the HTTP server; see declare() for what each one means.
struct server_config {
  std::string address = "0.0.0.0";
  uint16_t port = 8080;
  int threads = 2;
  /// Longest time from a connection's first byte (or its accept) to a complete request header.
  std::chrono::milliseconds header_timeout{10'000};
  /// Longest wait for the next bytes of a request body (a stalled upload is dropped).
  std::chrono::milliseconds body_timeout{10'000};
  std::chrono::milliseconds idle_timeout{60'000};
  std::chrono::milliseconds drain{0};
  std::chrono::milliseconds shutdown_timeout{30'000};
  bool access_log = true;
  /// Open connections allowed in all and from one client address (trusted proxies exempt).
  size_t max_connections = 4096;
  size_t max_connections_per_ip = 128;
  /// Server-Sent Events streams one user may hold open at once.
  size_t max_event_streams_per_user = 8;
  /// Peers whose X-Forwarded-For names the client.
  trusted_proxies proxies;
  /// The port of the metrics listener (/metrics, /healthz, /readyz); -1 for none.
  int metrics_port = 9180;
  /// Also serve /metrics on the main port (all-in-one on a private network).
  bool metrics_public = false;
  /// Rate limits by route kind; empty when switched off.
  std::shared_ptr<rate_limits> limits = std::make_shared<rate_limits>();
  /// Users whose tokens are refused before they expire (fed from the bus).
  std::shared_ptr<revocation_list> revoked = std::make_shared<revocation_list>();
  /// The service label on metrics and logs ("all", "auth", ...).
  std::string service = "all";
  /// The shared HS256 key that access tokens are checked with.
  std::string jwt_key;

  /// Declares the server's options.
  static void declare(options& opts);
  /// Reads the declared options.
  static result<server_config> from(const options& opts);
};

/// Reports readiness: call the callback with true when the stores and bus answer.
using readiness_check = std::function<void(std::function<void(bool)>)>;

/// Describes this process's links to other services for /readyz and clears `ready` when a
/// required one is down.
using link_report = std::function<nlohmann::json(bool& ready)>;

/// A Boost.Beast HTTP/1.1 server in the shape of Beast's advanced server: a session per
/// connection (on its own strand) that only reads and writes, with keep-alive, per-route body
/// limits, header, body-progress and idle timeouts; a request side apart from it that runs each
/// request through a chain of middleware (metrics and access log, error bodies, cache headers,
/// authentication, rate limits; the last two decided from the header before any body is read)
/// to its handler; connection caps (total and per client address); a separate metrics listener;
/// and graceful shutdown (SIGTERM/SIGINT: /readyz turns 503; after the drain period the listener
/// closes; in-flight requests finish and are answered with Connection: close; idle keep-alive
/// connections are closed once nothing is in flight; run() returns). docs/architecture.md, "How
/// a request travels", names the units.
class server {
 public:
  server(server_config cfg, std::shared_ptr<router> routes);
  ~server();
  server(const server&) = delete;
  server& operator=(const server&) = delete;

  /// Adds /healthz, /readyz and /metrics to the router; `check` and `links` decide readiness,
  /// and /readyz lists each link's state.
  void add_standard_routes(readiness_check check, link_report links = nullptr);

  /// Binds and listens; returns the bound port (the chosen one when the port is 0).
  result<uint16_t> listen();

  /// The bound metrics port after listen() (0 when there is no metrics listener).
  uint16_t metrics_port() const;

  /// Serves on the configured threads until a shutdown completes.
  void run();

  /// Starts a graceful shutdown, as SIGTERM does; thread-safe and idempotent.
  void shutdown();

  /// The implementation; public only so that the server's units (session, pipeline, admission,
  /// health) can name it.
  struct impl;

 private:
  std::shared_ptr<impl> impl_;
};

}  // namespace pixhive::http
