#include "pixhive/http/stream_ticket.hpp"

#include "pixhive/core/crypto.hpp"
#include "pixhive/core/json.hpp"

namespace pixhive::http {

namespace {

// A domain of its own: a ticket's signature can never pass for an access token's, nor the
// reverse (a JWT signs "header.payload", a ticket "ticket:payload").
std::string signature(std::string_view key, std::string_view payload) {
  return crypto::base64url_encode(crypto::hmac_sha256(key, "ticket:" + std::string(payload)));
}

caf::error invalid_ticket() {
  return make_error(errc::unauthorized, "invalid_ticket",
                    "the stream ticket is not valid, expired or already used: ask for a new one");
}

}  // namespace

std::string ticket_book::issue(const jwt::claims& who, std::string_view path, std::string_view key,
                               int64_t now) {
  nlohmann::json body{{"sub", std::to_string(who.user_id)},
                      {"name", who.username},
                      {"role", who.role},
                      {"iat_ms", who.issued_at_ms},
                      {"path", path},
                      {"exp", now + lifetime},
                      {"jti", crypto::random_token(12)},
                      {"token_exp", who.expires_at}};
  auto payload = crypto::base64url_encode(body.dump());
  return payload + "." + signature(key, payload);
}

result<jwt::claims> ticket_book::redeem(std::string_view ticket, std::string_view path,
                                        std::string_view key, int64_t now) {
  auto dot = ticket.find('.');
  if (dot == std::string_view::npos) return invalid_ticket();
  auto payload = ticket.substr(0, dot);
  if (!crypto::constant_time_equal(signature(key, payload), std::string(ticket.substr(dot + 1))))
    return invalid_ticket();
  auto raw = crypto::base64url_decode(payload);
  if (!raw) return invalid_ticket();
  auto body = parse_json_or_null(*raw);
  if (!body.is_object() || !body.contains("exp") || !body["exp"].is_number_integer() ||
      !body.contains("iat_ms") || !body["iat_ms"].is_number_integer() ||
      !body.contains("token_exp") || !body["token_exp"].is_number_integer() ||
      body.value("path", "") != path || body.value("jti", "").empty())
    return invalid_ticket();
  auto expires = body["exp"].get<int64_t>();
  if (expires < now) return invalid_ticket();
  jwt::claims c;
  try {
    c.user_id = std::stoll(body.value("sub", "0"));
  } catch (const std::exception&) {
    return invalid_ticket();
  }
  c.username = body.value("name", "");
  c.role = body.value("role", "");
  c.issued_at_ms = body["iat_ms"].get<int64_t>();
  c.issued_at = c.issued_at_ms / 1000;
  // The stream lives as long as the access token the ticket was bought with would have.
  c.expires_at = body["token_exp"].get<int64_t>();
  std::lock_guard<std::mutex> guard{mtx_};
  for (auto it = taken_.begin(); it != taken_.end();)
    it = it->second < now ? taken_.erase(it) : std::next(it);
  if (!taken_.emplace(body["jti"].get<std::string>(), expires).second) return invalid_ticket();
  return c;
}

}  // namespace pixhive::http
