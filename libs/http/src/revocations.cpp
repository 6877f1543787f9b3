#include "pixhive/http/revocations.hpp"

#include "pixhive/core/json.hpp"

namespace pixhive::http {

void revocation_list::revoke(int64_t user_id, int64_t at) {
  std::lock_guard<std::mutex> guard{mtx_};
  auto& when = revoked_at_[user_id];
  when = std::max(when, at);
}

void revocation_list::restore(int64_t user_id) {
  std::lock_guard<std::mutex> guard{mtx_};
  revoked_at_.erase(user_id);
}

bool revocation_list::revoked(const jwt::claims& c) const {
  std::lock_guard<std::mutex> guard{mtx_};
  auto it = revoked_at_.find(c.user_id);
  return it != revoked_at_.end() && c.issued_at <= it->second;
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
  if (body["disabled"] == true)
    revoke(id, body["at"].is_number_integer() ? body["at"].get<int64_t>() : 0);
  else
    restore(id);
}

std::string revocation_list::message(int64_t user_id, bool disabled, int64_t at) {
  return nlohmann::json{{"user_id", std::to_string(user_id)}, {"disabled", disabled}, {"at", at}}
      .dump();
}

}  // namespace pixhive::http
