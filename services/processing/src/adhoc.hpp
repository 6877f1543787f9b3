#pragma once

#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <nlohmann/json.hpp>
#include <prometheus/counter.h>
#include <prometheus/gauge.h>

#include "pixhive/http/types.hpp"
#include "pixhive/processing/processing.hpp"
#include "pixhive/store/blob_cache.hpp"

namespace pixhive::processing {

/// The front of ad-hoc POST /process, on the HTTP side of the workers. It answers from the
/// result cache, lets identical requests in flight share one computation (single-flight), and
/// admits new work up to a limit. Only new work can be refused: a request the cache or a
/// computation in flight can answer never gets 503.
class adhoc_front {
 public:
  explicit adhoc_front(const processing_config& cfg);

  /// The cache key of a request: SHA-256 of the image, the operation, its canonical parameters
  /// and the format. Empty when the cache is off (no hashing, no sharing).
  std::string key(std::string_view image, const std::string& operation,
                  const nlohmann::json& params, const std::string& format) const;

  /// What enter() did with a request.
  enum class entry {
    answered,  ///< from the cache, already responded
    joined,    ///< will be answered when the identical computation in flight ends
    lead,      ///< admitted: compute, then call leave()
    refused,   ///< the limit is reached: answer 503
  };

  /// Answers, joins or admits a request for `operation` with `key` (empty: admission only)
  /// whose answer has `content_type`.
  entry enter(const std::string& key, const std::string& operation,
              const std::string& content_type, const http::responder& respond);

  /// Ends admitted work: caches a 200's body and answers every request that joined it, then
  /// frees the admission slot. The leader answers its own request with `res` afterwards.
  void leave(const std::string& key, const http::response& res);

 private:
  void update_ratio();

  int limit_;
  bool caching_;
  store::blob_cache cache_;
  std::mutex mtx_;
  int admitted_ = 0;
  std::unordered_map<std::string, std::vector<http::responder>> in_flight_;
  prometheus::Gauge* admitted_gauge_;
  prometheus::Counter* rejected_;
  prometheus::Counter* joined_;
};

}  // namespace pixhive::processing
