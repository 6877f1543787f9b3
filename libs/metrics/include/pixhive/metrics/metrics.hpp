#pragma once

#include <memory>
#include <string>

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

namespace pixhive::metrics {

/// The process-wide registry every component registers its metrics in.
prometheus::Registry& registry();

/// The registry in Prometheus text exposition format, as served at /metrics.
std::string serialize();

/// Buckets (seconds) for request latencies, from 0.5 ms to 10 s.
const prometheus::Histogram::BucketBoundaries& latency_buckets();

/// The metrics the HTTP middleware records for every request.
class http_metrics {
 public:
  /// Registers the families for `service` (a label on every series).
  explicit http_metrics(std::string service);

  /// Records one finished request; `route` is the route template, never the raw path.
  void observe(const std::string& method, const std::string& route, int status, double seconds);

  /// Requests accepted but not yet answered.
  prometheus::Gauge& in_flight() { return *in_flight_; }

  /// Connections refused or accepts failed, by reason (max_connections, accept_failed, …).
  prometheus::Counter& refused(const std::string& reason);

 private:
  std::string service_;
  prometheus::Family<prometheus::Counter>* requests_;
  prometheus::Family<prometheus::Histogram>* durations_;
  prometheus::Gauge* in_flight_;
  prometheus::Family<prometheus::Counter>* refused_;
};

}  // namespace pixhive::metrics
