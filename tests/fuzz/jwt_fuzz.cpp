// Fuzzes access-token checking with a fixed key, three ways chosen by the first byte: the input
// as a token; a token from the project's own signer with one byte changed; and an input payload
// signed with the key, which reaches the claims parsing behind the signature check. A token
// whose bytes were changed may only pass if it still says exactly what was signed.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "fuzz_check.hpp"
#include "pixhive/core/crypto.hpp"
#include "pixhive/core/jwt.hpp"

namespace {

constexpr std::string_view key = "fuzzing-key-0123456789abcdefghijklmnopqrstuvwxyz";
constexpr int64_t now = 1'700'000'000;

bool same(const pixhive::jwt::claims& a, const pixhive::jwt::claims& b) {
  return a.user_id == b.user_id && a.username == b.username && a.role == b.role &&
         a.issued_at == b.issued_at && a.expires_at == b.expires_at;
}

uint64_t read_u64(std::string_view& in) {
  uint64_t v = 0;
  for (int i = 0; i < 8 && !in.empty(); ++i, in.remove_prefix(1))
    v = v << 8 | static_cast<uint8_t>(in.front());
  return v;
}

void mutated_token(std::string_view in) {
  pixhive::jwt::claims c;
  c.user_id = static_cast<int64_t>(read_u64(in));
  uint64_t where = read_u64(in);
  uint8_t flip = in.empty() ? 1 : static_cast<uint8_t>(in.front());
  if (!in.empty()) in.remove_prefix(1);
  // Usernames are checked at sign-up, so the signer only ever sees this alphabet.
  static constexpr std::string_view alphabet = "abcdefghijklmnopqrstuvwxyz0123456789_";
  for (char ch : in.substr(0, 64))
    c.username += alphabet[static_cast<uint8_t>(ch) % alphabet.size()];
  c.role = c.user_id % 2 ? "admin" : "user";
  c.issued_at = now - 60;
  c.expires_at = now + 900;
  auto token = pixhive::jwt::sign(c, key);
  auto original = pixhive::jwt::verify(token, key, now);
  check(original && same(*original, c), "a freshly signed token verifies");
  if (flip == 0) flip = 1;
  token[where % token.size()] ^= static_cast<char>(flip);
  auto changed = pixhive::jwt::verify(token, key, now);
  if (changed) check(same(*changed, c), "a changed token never verifies with other claims");
}

void signed_payload(std::string_view payload) {
  auto input = pixhive::crypto::base64url_encode(R"({"alg":"HS256","typ":"JWT"})") + "." +
               pixhive::crypto::base64url_encode(payload);
  auto token =
      input + "." + pixhive::crypto::base64url_encode(pixhive::crypto::hmac_sha256(key, input));
  auto claims = pixhive::jwt::verify(token, key, now);
  if (claims) check(claims->expires_at > now, "an accepted token has not expired");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  std::string_view rest(reinterpret_cast<const char*>(data + 1), size - 1);
  switch (data[0] % 3) {
    case 0: {
      auto claims = pixhive::jwt::verify(rest, key, now);
      if (claims) check(claims->expires_at > now, "an accepted token has not expired");
      break;
    }
    case 1:
      mutated_token(rest);
      break;
    default:
      signed_payload(rest);
  }
  return 0;
}
