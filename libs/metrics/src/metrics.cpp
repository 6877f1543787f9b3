#include "pixhive/metrics/metrics.hpp"

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include <prometheus/text_serializer.h>

namespace pixhive::metrics {

namespace {

prometheus::MetricFamily process_family(std::string name, std::string help,
                                        prometheus::MetricType type, double value) {
  prometheus::ClientMetric m;
  if (type == prometheus::MetricType::Counter)
    m.counter.value = value;
  else
    m.gauge.value = value;
  return {std::move(name), std::move(help), type, {m}};
}

/// The standard process_* series (as the Go and Python clients export them), read from /proc at
/// scrape time: prometheus-cpp has no process collector.
std::vector<prometheus::MetricFamily> process_families() {
  std::vector<prometheus::MetricFamily> out;
  std::ifstream stat_file("/proc/self/stat");
  std::string stat((std::istreambuf_iterator<char>(stat_file)), std::istreambuf_iterator<char>());
  // The command name (field 2) may hold spaces; the fields after its closing parenthesis don't.
  auto close = stat.rfind(')');
  if (close == std::string::npos) return out;
  std::istringstream rest(stat.substr(close + 2));
  std::vector<std::string> f{"pid", "comm"};
  for (std::string x; rest >> x;) f.push_back(x);
  if (f.size() < 24) return out;
  double ticks = static_cast<double>(sysconf(_SC_CLK_TCK));
  double page = static_cast<double>(sysconf(_SC_PAGESIZE));
  double cpu = (std::stod(f[13]) + std::stod(f[14])) / ticks;
  double rss = std::stod(f[23]) * page;
  double boot = 0;
  std::ifstream proc_stat("/proc/stat");
  for (std::string line; std::getline(proc_stat, line);)
    if (line.rfind("btime ", 0) == 0) boot = std::stod(line.substr(6));
  double start = boot + std::stod(f[21]) / ticks;
  std::error_code ec;
  double fds = 0;
  for (auto it = std::filesystem::directory_iterator("/proc/self/fd", ec);
       !ec && it != std::filesystem::directory_iterator(); it.increment(ec))
    ++fds;
  using prometheus::MetricType;
  out.push_back(process_family("process_cpu_seconds_total",
                               "User and system CPU time spent, in seconds", MetricType::Counter,
                               cpu));
  out.push_back(process_family("process_resident_memory_bytes", "Resident memory size in bytes",
                               MetricType::Gauge, rss));
  out.push_back(
      process_family("process_open_fds", "Open file descriptors", MetricType::Gauge, fds));
  out.push_back(process_family("process_start_time_seconds",
                               "Start time of the process since the Unix epoch, in seconds",
                               MetricType::Gauge, start));
  return out;
}

}  // namespace

prometheus::Registry& registry() {
  static prometheus::Registry instance;
  return instance;
}

std::string serialize() {
  prometheus::TextSerializer serializer;
  auto families = registry().Collect();
  for (auto& f : process_families()) families.push_back(std::move(f));
  return serializer.Serialize(families);
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
