#pragma once

#include <cstdint>
#include <mutex>
#include <string>
#include <unordered_map>

#include "pixhive/core/jwt.hpp"

namespace pixhive::http {

/// Users whose access tokens stop working before they expire: a disabled account's tokens are
/// refused by every service within the time a broadcast takes, not after their 15 minutes.
/// Thread-safe.
class revocation_list {
 public:
  /// Refuses `user_id`'s tokens issued at or before `at` (unix seconds).
  void revoke(int64_t user_id, int64_t at);
  /// Accepts `user_id`'s tokens again (the account was enabled).
  void restore(int64_t user_id);
  /// True when these claims were revoked.
  bool revoked(const jwt::claims& c) const;
  /// Applies one broadcast message: {"user_id":"42","disabled":true,"at":1700000000}.
  void apply(const std::string& message);

  /// The bus topic auth broadcasts revocations on.
  static constexpr const char* topic = "pixhive.revocations";
  /// The message that apply() reads.
  static std::string message(int64_t user_id, bool disabled, int64_t at);

 private:
  mutable std::mutex mtx_;
  std::unordered_map<int64_t, int64_t> revoked_at_;
};

}  // namespace pixhive::http
