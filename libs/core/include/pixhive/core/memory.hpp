#pragma once

namespace pixhive {

/// Sets glibc's allocator up for image work; call once at start-up, before any thread starts.
/// Buffers of up to 32 MiB are reused from the heap instead of being mapped and unmapped each
/// time (a fresh mapping faults in every page again on the next image), and the number of
/// arenas is capped so that the memory kept for reuse stays bounded.
void tune_allocator();

}  // namespace pixhive
