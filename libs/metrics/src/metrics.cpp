#include "pixhive/metrics/metrics.hpp"

#include <prometheus/text_serializer.h>

namespace pixhive::metrics {

prometheus::Registry& registry() {
  static prometheus::Registry instance;
  return instance;
}

std::string serialize() {
  prometheus::TextSerializer serializer;
  return serializer.Serialize(registry().Collect());
}

const prometheus::Histogram::BucketBoundaries& latency_buckets() {
  static const prometheus::Histogram::BucketBoundaries buckets{
      0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
  return buckets;
}

http_metrics::http_metrics(std::string service)
    : service_(std::move(service)),
      requests_(&prometheus::BuildCounter()
                     .Name("http_requests_total")
                     .Help("HTTP requests answered, by service, method, route template and status")
                     .Register(registry())),
      durations_(&prometheus::BuildHistogram()
                      .Name("http_request_duration_seconds")
                      .Help("Time from a request's last byte read to its response written")
                      .Register(registry())),
      in_flight_(&prometheus::BuildGauge()
                      .Name("http_requests_in_flight")
                      .Help("HTTP requests read but not yet answered")
                      .Register(registry())
                      .Add({{"service", service_}})),
      refused_(&prometheus::BuildCounter()
                    .Name("http_connections_refused_total")
                    .Help("Connections closed at accept (caps reached) and failed accepts")
                    .Register(registry())) {}

prometheus::Counter& http_metrics::refused(const std::string& reason) {
  return refused_->Add({{"service", service_}, {"reason", reason}});
}

void http_metrics::observe(const std::string& method, const std::string& route, int status,
                           double seconds) {
  std::map<std::string, std::string> labels{{"service", service_},
                                            {"method", method},
                                            {"route", route},
                                            {"status", std::to_string(status)}};
  requests_->Add(labels).Increment();
  labels.erase("status");
  durations_->Add(labels, latency_buckets()).Observe(seconds);
}

}  // namespace pixhive::metrics
