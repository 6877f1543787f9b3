#pragma once

namespace pixhive {

/// Sets glibc's allocator up for image work; call first thing in main(), before any thread
/// starts. Buffers of up to 32 MiB are reused from the heap instead of being mapped and
/// unmapped each time (a fresh mapping faults in every page again on the next image), larger
/// ones get transparent huge pages, and the number of arenas is capped so that the memory kept
/// for reuse stays bounded. Huge pages need a glibc tunable, read only at start: with `argv`
/// (main's), the program executes itself again once with GLIBC_TUNABLES set, unless the
/// variable already names glibc.malloc.hugetlb.
void tune_allocator(char** argv);

}  // namespace pixhive
