// The server's options: declared once, read into a server_config.
#include "pixhive/http/server.hpp"

namespace pixhive::http {

void server_config::declare(options& opts) {
  rate_limits::declare(opts);
  opts.add("address", "0.0.0.0", "address the HTTP server listens on")
      .add("port", "8080", "HTTP port; 0 picks a free port and logs it", check::whole(0, 65535))
      .add("http-threads", "2", "threads serving HTTP I/O (never blocked by database work)",
           check::whole(1, 256))
      .add("header-timeout", "10s",
           "time allowed from a connection's first byte to a complete request header",
           check::duration())
      .add("body-timeout", "10s",
           "longest wait for the next bytes of a request body; a stalled upload is dropped",
           check::duration())
      .add("idle-timeout", "60s", "how long an idle keep-alive connection is kept open",
           check::duration())
      .add("max-connections", "4096",
           "open connections allowed in all (kept below the open-files limit)",
           check::whole(1, 1'000'000))
      .add("max-connections-per-ip", "128",
           "open connections allowed from one client address (trusted proxies are exempt)",
           check::whole(1, 1'000'000))
      .add("max-event-streams-per-user", "8",
           "live Server-Sent Events streams one user may hold open; more get 429",
           check::whole(1, 10'000))
      .add("trusted-proxies", "",
           "CIDR ranges (comma-separated) of proxies whose X-Forwarded-For names the client, "
           "e.g. the ingress: 10.0.0.0/8")
      .add("metrics-port", "9180",
           "port of the metrics listener (/metrics, /healthz, /readyz), kept off the public "
           "port; 0 picks a free one (the default when --port is 0); off disables it",
           check::whole(0, 65535).or_one_of({"off"}))
      .add("metrics-public", "false",
           "also serve /metrics on the main port (all-in-one on a private network)",
           check::boolean())
      .add("shutdown-drain", "0s",
           "after SIGTERM, how long /readyz answers 503 before the listener closes, so load "
           "balancers stop sending traffic first",
           check::duration())
      .add("shutdown-timeout", "30s", "longest wait for in-flight requests during shutdown",
           check::duration())
      .add("access-log", "true", "log one line per request (at level info)", check::boolean())
      .add("jwt-key", "",
           "HS256 key for access tokens, shared by every service; all-in-one mode makes and keeps "
           "one in the data directory when unset");
}

result<server_config> server_config::from(const options& opts) {
  server_config cfg;
  cfg.address = opts.get("address");
  auto port = opts.get_int("port");
  if (!port) return port.error();
  cfg.port = static_cast<uint16_t>(*port);
  auto threads = opts.get_int("http-threads");
  if (!threads) return threads.error();
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
  for (auto [name, field] :
       {std::pair{"max-connections", &cfg.max_connections},
        std::pair{"max-connections-per-ip", &cfg.max_connections_per_ip},
        std::pair{"max-event-streams-per-user", &cfg.max_event_streams_per_user}}) {
    auto v = opts.get_int(name);
    if (!v) return v.error();
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

}  // namespace pixhive::http
