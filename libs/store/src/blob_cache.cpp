#include "pixhive/store/blob_cache.hpp"

#include "pixhive/metrics/metrics.hpp"

namespace pixhive::store {

std::optional<cache_policy> parse_cache_policy(const std::string& text) {
  if (text == "lru") return cache_policy::lru;
  if (text == "random") return cache_policy::random;
  return std::nullopt;
}

const char* to_string(cache_policy p) {
  return p == cache_policy::lru ? "lru" : "random";
}

namespace {

prometheus::Counter& counter(const std::string& name, const char* help) {
  return prometheus::BuildCounter().Name(name).Help(help).Register(metrics::registry()).Add({});
}

prometheus::Gauge& gauge(const std::string& name, const char* help) {
  return prometheus::BuildGauge().Name(name).Help(help).Register(metrics::registry()).Add({});
}

}  // namespace

blob_cache::blob_cache(size_t capacity_bytes, cache_policy policy, const std::string& metric_prefix)
    : capacity_(capacity_bytes),
      policy_(policy),
      hits_metric_(&counter(metric_prefix + "_hits_total", "Cache hits")),
      misses_metric_(&counter(metric_prefix + "_misses_total", "Cache misses")),
      evictions_metric_(
          &counter(metric_prefix + "_evictions_total", "Entries evicted to make room")),
      bytes_metric_(&gauge(metric_prefix + "_bytes", "Bytes held by the cache")),
      items_metric_(&gauge(metric_prefix + "_items", "Entries held by the cache")) {}

std::optional<std::string> blob_cache::get(const std::string& key) {
  std::lock_guard<std::mutex> guard{mtx_};
  auto it = index_.find(key);
  if (it == index_.end()) {
    ++misses_;
    misses_metric_->Increment();
    return std::nullopt;
  }
  ++hits_;
  hits_metric_->Increment();
  entries_.splice(entries_.begin(), entries_, it->second);
  return it->second->bytes;
}

void blob_cache::put(const std::string& key, const std::string& bytes) {
  std::lock_guard<std::mutex> guard{mtx_};
  if (auto it = index_.find(key); it != index_.end()) remove(it->second);
  if (bytes.size() > capacity_) return publish_gauges();
  while (bytes_ + bytes.size() > capacity_ && !entries_.empty()) evict_one();
  entries_.push_front(entry{key, bytes, slots_.size()});
  index_[key] = entries_.begin();
  slots_.push_back(entries_.begin());
  bytes_ += bytes.size();
  publish_gauges();
}

void blob_cache::erase(const std::string& key) {
  std::lock_guard<std::mutex> guard{mtx_};
  if (auto it = index_.find(key); it != index_.end()) remove(it->second);
  publish_gauges();
}

void blob_cache::clear() {
  std::lock_guard<std::mutex> guard{mtx_};
  entries_.clear();
  index_.clear();
  slots_.clear();
  bytes_ = 0;
  publish_gauges();
}

void blob_cache::configure(size_t capacity_bytes, cache_policy policy) {
  std::lock_guard<std::mutex> guard{mtx_};
  capacity_ = capacity_bytes;
  policy_ = policy;
  while (bytes_ > capacity_ && !entries_.empty()) evict_one();
  publish_gauges();
}

blob_cache::stats blob_cache::snapshot() {
  std::lock_guard<std::mutex> guard{mtx_};
  return stats{static_cast<int64_t>(entries_.size()),
               static_cast<int64_t>(bytes_),
               static_cast<int64_t>(capacity_),
               policy_,
               hits_,
               misses_,
               evictions_};
}

void blob_cache::evict_one() {
  auto victim = std::prev(entries_.end());
  if (policy_ == cache_policy::random)
    victim = slots_[std::uniform_int_distribution<size_t>(0, slots_.size() - 1)(rng_)];
  remove(victim);
  ++evictions_;
  evictions_metric_->Increment();
}

void blob_cache::remove(list_t::iterator it) {
  // Swap-remove from the slot vector keeps random choice O(1).
  auto slot = it->slot;
  slots_[slot] = slots_.back();
  slots_[slot]->slot = slot;
  slots_.pop_back();
  bytes_ -= it->bytes.size();
  index_.erase(it->key);
  entries_.erase(it);
}

void blob_cache::publish_gauges() {
  bytes_metric_->Set(static_cast<double>(bytes_));
  items_metric_->Set(static_cast<double>(entries_.size()));
}

}  // namespace pixhive::store
