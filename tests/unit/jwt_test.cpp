#include <gtest/gtest.h>

#include "pixhive/core/crypto.hpp"
#include "pixhive/core/jwt.hpp"

using namespace pixhive;

namespace {

const std::string key = "0123456789abcdef0123456789abcdef";

jwt::claims sample(int64_t now) {
  return {42, "alice", "user", now, now + 900};
}

}  // namespace

TEST(jwt, round_trip) {
  crypto::init();
  auto token = jwt::sign(sample(1000), key);
  auto c = jwt::verify(token, key, 1100);
  ASSERT_TRUE(c);
  EXPECT_EQ(c->user_id, 42);
  EXPECT_EQ(c->username, "alice");
  EXPECT_EQ(c->role, "user");
  EXPECT_EQ(c->expires_at, 1900);
}

TEST(jwt, rejects_expired_forged_and_tampered_tokens) {
  auto token = jwt::sign(sample(1000), key);
  auto expired = jwt::verify(token, key, 1900);
  ASSERT_FALSE(expired);
  EXPECT_EQ(to_problem(expired.error()).code, "token_expired");
  EXPECT_FALSE(jwt::verify(token, "another key that is long enough!!", 1100));
  // Swap in a payload claiming the admin role, keeping the old signature.
  auto d1 = token.find('.'), d2 = token.rfind('.');
  auto forged_payload = crypto::base64url_encode(
      R"({"sub":"42","name":"alice","role":"admin","iat":1000,"exp":1900})");
  auto forged = token.substr(0, d1 + 1) + forged_payload + token.substr(d2);
  EXPECT_FALSE(jwt::verify(forged, key, 1100));
}

TEST(jwt, rejects_alg_none_and_garbage) {
  auto header = crypto::base64url_encode(R"({"alg":"none","typ":"JWT"})");
  auto payload = crypto::base64url_encode(
      R"({"sub":"1","name":"x","role":"admin","iat":1,"exp":99999999999})");
  EXPECT_FALSE(jwt::verify(header + "." + payload + ".", key, 10));
  auto hs = jwt::sign(sample(1000), key);
  auto sig = hs.substr(hs.rfind('.') + 1);
  EXPECT_FALSE(jwt::verify(header + "." + payload + "." + sig, key, 10));
  for (std::string bad : {"", ".", "..", "a.b.c", "a.b", "a.b.c.d", "!!!.???.***"})
    EXPECT_FALSE(jwt::verify(bad, key, 10)) << bad;
}

TEST(crypto, base64url_and_passwords) {
  EXPECT_EQ(crypto::base64url_encode("\xfb\xff"), "-_8");
  EXPECT_EQ(*crypto::base64url_decode("-_8"), "\xfb\xff");
  EXPECT_FALSE(crypto::base64url_decode("a+b/"));
  auto h = crypto::password_hash("correct horse");
  ASSERT_TRUE(h);
  EXPECT_EQ(h->rfind("$argon2id$", 0), 0u);
  EXPECT_TRUE(crypto::password_verify(*h, "correct horse"));
  EXPECT_FALSE(crypto::password_verify(*h, "wrong horse"));
  auto digits = crypto::random_digits(6);
  EXPECT_EQ(digits.size(), 6u);
  EXPECT_EQ(digits.find_first_not_of("0123456789"), std::string::npos);
}
