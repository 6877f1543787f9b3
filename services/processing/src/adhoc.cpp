#include "adhoc.hpp"

#include "pixhive/core/crypto.hpp"
#include "pixhive/metrics/metrics.hpp"
#include "processing_logic.hpp"

namespace pixhive::processing {

adhoc_front::adhoc_front(const processing_config& cfg)
    : limit_(cfg.queue_limit),
      caching_(cfg.cache_bytes > 0),
      cache_(cfg.cache_bytes, store::cache_policy::lru, "pixhive_processing_cache"),
      admitted_gauge_(&prometheus::BuildGauge()
                           .Name("pixhive_processing_adhoc_admitted")
                           .Help("Ad-hoc POST /process requests running or waiting")
                           .Register(metrics::registry())
                           .Add({})),
      rejected_(&prometheus::BuildCounter()
                     .Name("pixhive_processing_adhoc_rejected_total")
                     .Help("Ad-hoc requests refused with 503 because the queue was full")
                     .Register(metrics::registry())
                     .Add({})),
      joined_(&prometheus::BuildCounter()
                   .Name("pixhive_processing_adhoc_joined_total")
                   .Help("Ad-hoc requests answered by an identical computation in flight")
                   .Register(metrics::registry())
                   .Add({})) {}

std::string adhoc_front::key(std::string_view image, const std::string& operation,
                             const nlohmann::json& params, const std::string& format) const {
  if (!caching_) return {};
  return crypto::sha256_hex(image) + "|" + operation + "|" + params.dump() + "|" + format;
}

void adhoc_front::update_ratio() {
  auto s = cache_.snapshot();
  processing_metrics::get().cache_hit_ratio.Set(double(s.hits) /
                                                double(std::max<int64_t>(1, s.hits + s.misses)));
}

adhoc_front::entry adhoc_front::enter(const std::string& key, const std::string& operation,
                                      const std::string& content_type,
                                      const http::responder& respond) {
  if (!key.empty()) {
    if (auto hit = cache_.get(key)) {
      update_ratio();
      processing_metrics::get().observe(operation, "cached", -1);
      http::response res{http::bhttp::status::ok, 11};
      res.set(http::bhttp::field::content_type, content_type);
      res.set("X-Cache", "hit");
      res.body() = std::move(*hit);
      respond(std::move(res));
      return entry::answered;
    }
    update_ratio();
  }
  std::lock_guard<std::mutex> guard{mtx_};
  if (!key.empty())
    if (auto it = in_flight_.find(key); it != in_flight_.end()) {
      it->second.push_back(respond);
      joined_->Increment();
      return entry::joined;
    }
  if (admitted_ >= limit_) {
    rejected_->Increment();
    return entry::refused;
  }
  ++admitted_;
  admitted_gauge_->Increment();
  if (!key.empty()) in_flight_.emplace(key, std::vector<http::responder>{});
  return entry::lead;
}

void adhoc_front::leave(const std::string& key, const http::response& res) {
  if (!key.empty() && res.result() == http::bhttp::status::ok) cache_.put(key, res.body());
  std::vector<http::responder> waiting;
  {
    std::lock_guard<std::mutex> guard{mtx_};
    if (!key.empty())
      if (auto it = in_flight_.find(key); it != in_flight_.end()) {
        waiting = std::move(it->second);
        in_flight_.erase(it);
      }
    --admitted_;
    admitted_gauge_->Decrement();
  }
  for (auto& w : waiting) {
    http::response copy = res;
    if (res.result() == http::bhttp::status::ok) copy.set("X-Cache", "coalesced");
    w(std::move(copy));
  }
}

}  // namespace pixhive::processing
