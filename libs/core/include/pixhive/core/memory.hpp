#pragma once

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

namespace pixhive {

/// Sets glibc's allocator up for image work; call first thing in main(), before any thread
/// starts. Buffers of up to 32 MiB are reused from the heap instead of being mapped and
/// unmapped each time (a fresh mapping faults in every page again on the next image), larger
/// ones get transparent huge pages, and the number of arenas is capped so that the memory kept
/// for reuse stays bounded. Huge pages need a glibc tunable, read only at start: with `argv`
/// (main's), the program executes itself again once with GLIBC_TUNABLES set, unless the
/// variable already names glibc.malloc.hugetlb.
void tune_allocator(char** argv);

/// Hands the allocator's free pages back to the system every `period` (malloc_trim), from a
/// thread of its own, until destroyed. The tuned allocator keeps freed image buffers for reuse;
/// after a burst (a backlog of uploads) that would otherwise stay resident for good.
class memory_releaser {
 public:
  explicit memory_releaser(std::chrono::milliseconds period);
  ~memory_releaser();
  memory_releaser(const memory_releaser&) = delete;
  memory_releaser& operator=(const memory_releaser&) = delete;

 private:
  std::mutex mtx_;
  std::condition_variable wake_;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace pixhive
