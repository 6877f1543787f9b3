#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "pixhive/core/error.hpp"

namespace pixhive::jwt {

/// What an access token says about its bearer.
struct claims {
  int64_t user_id = 0;
  std::string username;
  std::string role;  // "user" or "admin"
  int64_t issued_at = 0;
  int64_t expires_at = 0;
  /// The issue time in milliseconds: revocations compare it, so that a session started just
  /// after a "log out everywhere" survives it (claim "iat_ms"; iat * 1000 when absent).
  int64_t issued_at_ms = 0;
};

/// Signs `c` as an HS256 JWT with `key`.
std::string sign(const claims& c, std::string_view key);

/// Verifies an HS256 JWT at time `now` (seconds since the epoch). Any other algorithm
/// (including "none"), a bad signature, a malformed token or an expired one is `unauthorized`.
result<claims> verify(std::string_view token, std::string_view key, int64_t now);

}  // namespace pixhive::jwt
