#pragma once

#include <cstdint>
#include <list>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <unordered_map>
#include <vector>

#include <prometheus/counter.h>
#include <prometheus/gauge.h>

namespace pixhive::store {

/// Which entry makes room when the cache is full.
enum class cache_policy { lru, random };

/// Parses "lru" / "random".
std::optional<cache_policy> parse_cache_policy(const std::string& text);
/// The name of a policy.
const char* to_string(cache_policy p);

/// An in-memory cache of blobs, bounded in bytes; thread-safe (a service's workers share it).
class blob_cache {
 public:
  /// What GET /api/v1/admin/cache reports.
  struct stats {
    int64_t items = 0;
    int64_t bytes = 0;
    int64_t capacity_bytes = 0;
    cache_policy policy = cache_policy::lru;
    int64_t hits = 0;
    int64_t misses = 0;
    int64_t evictions = 0;
  };

  /// `metric_prefix` names its Prometheus series (`<prefix>_hits_total`, `<prefix>_bytes`, …).
  blob_cache(size_t capacity_bytes, cache_policy policy,
             const std::string& metric_prefix = "pixhive_media_cache");

  /// A copy of the cached blob, counting a hit or a miss.
  std::optional<std::string> get(const std::string& key);
  /// Caches `bytes`; a blob larger than the whole capacity is not cached.
  void put(const std::string& key, const std::string& bytes);
  /// Forgets one blob (it changed or was deleted).
  void erase(const std::string& key);
  /// Forgets everything; counters stay.
  void clear();
  /// Changes capacity and policy at run time, evicting down to the new capacity.
  void configure(size_t capacity_bytes, cache_policy policy);
  /// The current figures.
  stats snapshot();

 private:
  struct entry {
    std::string key;
    std::string bytes;
    size_t slot;  // index in slots_ (random policy)
  };
  using list_t = std::list<entry>;

  void evict_one();
  void remove(list_t::iterator it);
  void publish_gauges();

  std::mutex mtx_;
  size_t capacity_;
  cache_policy policy_;
  size_t bytes_ = 0;
  list_t entries_;  // most recently used first
  std::unordered_map<std::string, list_t::iterator> index_;
  std::vector<list_t::iterator> slots_;  // for O(1) random choice
  std::mt19937_64 rng_{std::random_device{}()};
  int64_t hits_ = 0, misses_ = 0, evictions_ = 0;
  prometheus::Counter* hits_metric_;
  prometheus::Counter* misses_metric_;
  prometheus::Counter* evictions_metric_;
  prometheus::Gauge* bytes_metric_;
  prometheus::Gauge* items_metric_;
};

}  // namespace pixhive::store
