#pragma once

#include <cstdint>
#include <mutex>
#include <string>
#include <unordered_map>

#include "pixhive/core/jwt.hpp"

namespace pixhive::http {

/// Users whose access tokens stop working before they expire: the tokens of an account that is
/// disabled, changes its password or logs out everywhere are refused by every service within
/// the time a broadcast takes, not after their 15 minutes. A revocation is never lifted: tokens
/// issued before it stay refused after the account is enabled again. Thread-safe.
class revocation_list {
 public:
  /// Refuses `user_id`'s tokens issued at or before `at_ms` (unix milliseconds).
  void revoke(int64_t user_id, int64_t at_ms);
  /// True when these claims were revoked.
  bool revoked(const jwt::claims& c) const;
  /// Applies one broadcast message: {"user_id":"42","at_ms":1700000000000}.
  void apply(const std::string& message);

  /// The bus topic auth broadcasts revocations on.
  static constexpr const char* topic = "pixhive.revocations";
  /// The message that apply() reads.
  static std::string message(int64_t user_id, int64_t at_ms);

 private:
  mutable std::mutex mtx_;
  std::unordered_map<int64_t, int64_t> revoked_at_;
};

}  // namespace pixhive::http
