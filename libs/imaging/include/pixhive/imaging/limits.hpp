#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <optional>

#include "pixhive/core/error.hpp"

namespace pixhive::imaging {

/// The time budget of the image work running on this thread. Steps that can stop part-way (OCR,
/// GrabCut's iterations) stop at it; callers check expired() between steps. Nested scopes keep
/// the earlier deadline.
class deadline_scope {
 public:
  explicit deadline_scope(std::chrono::steady_clock::time_point at);
  ~deadline_scope();
  deadline_scope(const deadline_scope&) = delete;
  deadline_scope& operator=(const deadline_scope&) = delete;

 private:
  std::optional<std::chrono::steady_clock::time_point> previous_;
};

/// The deadline of this thread's image work, if one is set.
std::optional<std::chrono::steady_clock::time_point> current_deadline();

/// True when this thread's deadline has passed.
bool deadline_expired();

/// The error of work stopped at its deadline: 503 `timeout` naming `what`.
caf::error timeout_error(const std::string& what);

/// Makes OpenCV run every call on the calling thread, for processes whose workers already keep
/// every core busy: its own thread pool (TBB) would only add hand-offs and contention (the upload
/// pipeline on 2 workers, 2 cores: 6.9 → 7.5 photos/s).
void run_opencv_on_calling_threads();

/// Bytes of decoded pixels that all workers of this process may hold at once: concurrent large
/// decodes wait for each other instead of multiplying (a 100 MP PNG alone is ~300 MB).
class memory_budget {
 public:
  /// A share of the budget, given back when destroyed.
  class lease {
   public:
    lease() = default;
    lease(memory_budget* owner, size_t bytes) : owner_(owner), bytes_(bytes) {}
    lease(lease&& o) noexcept : owner_(o.owner_), bytes_(o.bytes_) { o.owner_ = nullptr; }
    lease& operator=(lease&& o) noexcept;
    ~lease();

   private:
    memory_budget* owner_ = nullptr;
    size_t bytes_ = 0;
  };

  explicit memory_budget(size_t bytes) : total_(bytes) {}

  /// Waits until `bytes` fit (a share larger than the whole budget waits until it runs alone),
  /// or until this thread's deadline: then 503 `timeout`.
  result<lease> acquire(size_t bytes);

  /// Bytes leased now.
  size_t in_use() const;

 private:
  void release(size_t bytes);

  size_t total_;
  size_t used_ = 0;
  mutable std::mutex mtx_;
  std::condition_variable freed_;
};

/// What decoding a `width`×`height` image at 1/`reduction` and working on it may hold: the
/// decoded BGR pixels and about as much again for an operation's output and the encoder.
size_t decode_cost(int64_t width, int64_t height, int reduction = 1);

}  // namespace pixhive::imaging
