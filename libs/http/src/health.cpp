// The standard routes of every process: /healthz (alive), /readyz (its stores, bus and links
// answer; 503 while draining) on both listeners, and /metrics on the metrics listener.
#include "pixhive/http/json.hpp"
#include "pixhive/metrics/metrics.hpp"
#include "server_impl.hpp"

namespace pixhive::http {

void server::add_standard_routes(readiness_check check, link_report links) {
  std::weak_ptr<impl> weak = impl_;
  auto healthz = [](const context&) { return json_response(200, {{"status", "ok"}}); };
  auto readyz = [weak, check, links](const context&) -> answer {
    auto self = weak.lock();
    if (!self || self->draining) return json_response(503, {{"status", "shutting_down"}});
    return answer::later([weak, check, links](responder respond) {
      auto reply = [respond, weak, links](bool ok) {
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
      if (!check) return reply(true);
      check(reply);
    });
  };
  auto metrics_handler = [](const context&) {
    response res{bhttp::status::ok, 11};
    res.set(bhttp::field::content_type, "text/plain; version=0.0.4; charset=utf-8");
    res.body() = metrics::serialize();
    return res;
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

}  // namespace pixhive::http
