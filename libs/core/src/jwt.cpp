#include "pixhive/core/jwt.hpp"

#include <nlohmann/json.hpp>

#include "pixhive/core/crypto.hpp"
#include "pixhive/core/json.hpp"

namespace pixhive::jwt {

namespace {

const std::string header_b64 = crypto::base64url_encode(R"({"alg":"HS256","typ":"JWT"})");

caf::error invalid(std::string why) {
  return make_error(errc::unauthorized, "invalid_token", std::move(why));
}

}  // namespace

std::string sign(const claims& c, std::string_view key) {
  nlohmann::json payload = {{"sub", std::to_string(c.user_id)},
                            {"name", c.username},
                            {"role", c.role},
                            {"iat", c.issued_at},
                            {"exp", c.expires_at}};
  if (c.issued_at_ms) payload["iat_ms"] = c.issued_at_ms;
  auto signing_input = header_b64 + "." + crypto::base64url_encode(payload.dump());
  return signing_input + "." + crypto::base64url_encode(crypto::hmac_sha256(key, signing_input));
}

result<claims> verify(std::string_view token, std::string_view key, int64_t now) {
  auto dot1 = token.find('.');
  auto dot2 = dot1 == std::string_view::npos ? dot1 : token.find('.', dot1 + 1);
  if (dot2 == std::string_view::npos || token.find('.', dot2 + 1) != std::string_view::npos)
    return invalid("malformed token");
  auto header = crypto::base64url_decode(token.substr(0, dot1));
  auto payload = crypto::base64url_decode(token.substr(dot1 + 1, dot2 - dot1 - 1));
  auto signature = crypto::base64url_decode(token.substr(dot2 + 1));
  if (!header || !payload || !signature) return invalid("malformed token");
  auto h = parse_json_or_null(*header);
  // Only HS256 is accepted: "none" and asymmetric algorithms would let a client choose how
  // (or whether) the token is checked.
  if (!h.is_object() || !h.contains("alg") || h["alg"] != "HS256")
    return invalid("unsupported token algorithm");
  auto expected = crypto::hmac_sha256(key, token.substr(0, dot2));
  if (!crypto::constant_time_equal(expected, *signature)) return invalid("bad token signature");
  auto p = parse_json_or_null(*payload);
  if (!p.is_object()) return invalid("malformed token");
  // A float claim (1e300) converted to an integer is undefined behaviour, not an exception.
  for (const char* key : {"iat", "exp"})
    if (!p.contains(key) || !p[key].is_number_integer()) return invalid("malformed token claims");
  try {
    claims c;
    c.user_id = std::stoll(p.at("sub").get<std::string>());
    c.username = p.at("name").get<std::string>();
    c.role = p.at("role").get<std::string>();
    c.issued_at = p.at("iat").get<int64_t>();
    c.expires_at = p.at("exp").get<int64_t>();
    c.issued_at_ms = c.issued_at * 1000;
    if (p.contains("iat_ms")) {
      if (!p["iat_ms"].is_number_integer()) return invalid("malformed token claims");
      c.issued_at_ms = p["iat_ms"].get<int64_t>();
    }
    if (c.expires_at <= now)
      return make_error(errc::unauthorized, "token_expired", "the access token has expired");
    return c;
  } catch (const std::exception&) {
    return invalid("malformed token claims");
  }
}

}  // namespace pixhive::jwt
