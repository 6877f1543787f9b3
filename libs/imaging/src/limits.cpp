#include "pixhive/imaging/limits.hpp"

#include <algorithm>

#include <opencv2/core/utility.hpp>

namespace pixhive::imaging {

namespace {

thread_local std::optional<std::chrono::steady_clock::time_point> deadline_;

}  // namespace

deadline_scope::deadline_scope(std::chrono::steady_clock::time_point at) : previous_(deadline_) {
  deadline_ = previous_ ? std::min(*previous_, at) : at;
}

deadline_scope::~deadline_scope() {
  deadline_ = previous_;
}

std::optional<std::chrono::steady_clock::time_point> current_deadline() {
  return deadline_;
}

bool deadline_expired() {
  return deadline_ && std::chrono::steady_clock::now() >= *deadline_;
}

caf::error timeout_error(const std::string& what) {
  return make_error(errc::unavailable, "timeout",
                    what + " ran past its time budget and was stopped");
}

memory_budget::lease& memory_budget::lease::operator=(lease&& o) noexcept {
  if (this != &o) {
    if (owner_) owner_->release(bytes_);
    owner_ = o.owner_;
    bytes_ = o.bytes_;
    o.owner_ = nullptr;
  }
  return *this;
}

memory_budget::lease::~lease() {
  if (owner_) owner_->release(bytes_);
}

result<memory_budget::lease> memory_budget::acquire(size_t bytes) {
  bytes = std::min(bytes, total_);
  std::unique_lock<std::mutex> lock{mtx_};
  auto fits = [&] { return used_ + bytes <= total_; };
  if (auto at = current_deadline()) {
    if (!freed_.wait_until(lock, *at, fits)) return timeout_error("waiting for decode memory");
  } else {
    freed_.wait(lock, fits);
  }
  used_ += bytes;
  return lease{this, bytes};
}

size_t memory_budget::in_use() const {
  std::lock_guard<std::mutex> guard{mtx_};
  return used_;
}

void memory_budget::release(size_t bytes) {
  {
    std::lock_guard<std::mutex> guard{mtx_};
    used_ -= bytes;
  }
  freed_.notify_all();
}

size_t decode_cost(int64_t width, int64_t height, int reduction) {
  auto r = std::max(1, reduction);
  auto w = static_cast<size_t>(std::max<int64_t>(1, (width + r - 1) / r));
  auto h = static_cast<size_t>(std::max<int64_t>(1, (height + r - 1) / r));
  return w * h * 3 * 2;
}

void run_opencv_on_calling_threads() {
  cv::setNumThreads(0);
}

}  // namespace pixhive::imaging
