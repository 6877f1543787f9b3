#include "pixhive/core/memory.hpp"

#include <malloc.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <string>

namespace pixhive {

void tune_allocator(char** argv) {
  // glibc reads its tunables once, from the environment, at start: the one that matters here
  // has no mallopt() counterpart, so the program starts itself again with it, once. Huge pages
  // for large blocks: a progressive JPEG's coefficient buffer (55 MB for a 9 MP photo) is
  // above any mmap threshold, and faulting it in 4 KiB pages cost a fifth of a thumbnail.
  const char* current = std::getenv("GLIBC_TUNABLES");
  if (argv && (!current || !std::strstr(current, "glibc.malloc.hugetlb"))) {
    std::string value = "glibc.malloc.hugetlb=1";
    if (current && *current) value = std::string(current) + ":" + value;
    setenv("GLIBC_TUNABLES", value.c_str(), 1);
    execv("/proc/self/exe", argv);  // if that fails, go on without huge pages
  }
  // goodFeaturesToTrack on a 1 MP photo takes 91 ms with glibc's defaults and 6 ms with these:
  // its float buffers are above the dynamic mmap threshold, so every call mapped fresh pages
  // and faulted each one in (docs/performance.md).
  mallopt(M_MMAP_THRESHOLD, 32 * 1024 * 1024);
  mallopt(M_TRIM_THRESHOLD, 64 * 1024 * 1024);
  // Four arenas instead of eight per core: each keeps its own free memory for reuse.
  mallopt(M_ARENA_MAX, 4);
}

memory_releaser::memory_releaser(std::chrono::milliseconds period)
    : thread_([this, period] {
        std::unique_lock<std::mutex> lock{mtx_};
        while (!wake_.wait_for(lock, period, [this] { return stop_; })) malloc_trim(0);
      }) {}

memory_releaser::~memory_releaser() {
  {
    std::lock_guard<std::mutex> guard{mtx_};
    stop_ = true;
  }
  wake_.notify_all();
  thread_.join();
}

}  // namespace pixhive
