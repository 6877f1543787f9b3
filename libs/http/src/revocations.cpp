#include "pixhive/http/revocations.hpp"

#include "pixhive/core/ids.hpp"
#include "pixhive/core/json.hpp"

namespace pixhive::http {

void revocation_list::revoke(int64_t user_id, int64_t at_ms) {
  std::lock_guard<std::mutex> guard{mtx_};
  auto& when = revoked_at_[user_id];
  when = std::max(when, at_ms);
}

bool revocation_list::revoked(const jwt::claims& c) const {
  std::lock_guard<std::mutex> guard{mtx_};
  auto it = revoked_at_.find(c.user_id);
  return it != revoked_at_.end() && c.issued_at_ms <= it->second;
}

void revocation_list::apply(const std::string& message) {
  auto body = parse_json_or_null(message);
  if (!body.is_object() || !body.contains("user_id") || !body["user_id"].is_string()) return;
  int64_t id = 0;
  try {
    id = std::stoll(body["user_id"].get<std::string>());
  } catch (const std::exception&) {
    return;
  }
  // A time in the future would refuse tokens not yet issued: a revocation means "up to now".
  if (body.contains("at_ms") && body["at_ms"].is_number_integer())
    revoke(id, std::min(body["at_ms"].get<int64_t>(), unix_now_ms()));
}

std::string revocation_list::message(int64_t user_id, int64_t at_ms) {
  return nlohmann::json{{"user_id", std::to_string(user_id)}, {"at_ms", at_ms}}.dump();
}

}  // namespace pixhive::http
