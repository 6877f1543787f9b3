#pragma once

#include <cstdint>
#include <ctime>
#include <string>

namespace pixhive {

/// A new unique, roughly time-ordered positive 63-bit id: milliseconds since 2024-01-01 in the
/// high bits, then a random per-process node number and a per-process sequence, so that
/// replicas writing to one database do not collide and newer rows sort after older ones.
int64_t next_id();

/// Seconds since the Unix epoch (the clock every service uses for stored times).
int64_t unix_now();

/// Milliseconds since the Unix epoch.
int64_t unix_now_ms();

/// `when` (default: now) in UTC, formatted with strftime's `format`.
std::string format_utc(const char* format, std::time_t when = std::time(nullptr));

}  // namespace pixhive
