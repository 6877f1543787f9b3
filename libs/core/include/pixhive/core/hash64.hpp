#pragma once

#include <bit>
#include <cstdint>
#include <cstdio>
#include <optional>
#include <string>

namespace pixhive {

/// A 64-bit hash (perceptual hashes of photos) as 16 lower-case hex digits.
inline std::string hash64_hex(uint64_t h) {
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(h));
  return buf;
}

/// Parses hash64_hex's output; nullopt when `text` is not 16 lower-case hex digits.
inline std::optional<uint64_t> parse_hash64(const std::string& text) {
  if (text.size() != 16 || text.find_first_not_of("0123456789abcdef") != std::string::npos)
    return std::nullopt;
  return std::stoull(text, nullptr, 16);
}

/// How many bits two hashes differ in.
inline int hamming_distance(uint64_t a, uint64_t b) {
  return std::popcount(a ^ b);
}

}  // namespace pixhive
