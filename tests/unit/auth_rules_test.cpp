#include <gtest/gtest.h>

#include "auth_logic.hpp"

using namespace pixhive;
using namespace pixhive::auth;

TEST(auth_rules, usernames_fold_case_and_allow_only_the_documented_alphabet) {
  EXPECT_EQ(*normalize_username("Alice_01.x"), "alice_01.x");
  EXPECT_FALSE(normalize_username("ab"));
  EXPECT_TRUE(normalize_username("abc"));
  EXPECT_TRUE(normalize_username(std::string(30, 'a')));
  EXPECT_FALSE(normalize_username(std::string(31, 'a')));
  for (auto bad : {"al ice", "al-ice", "alice!", "ålice", "al/ice", "al\x00ice"})
    EXPECT_FALSE(normalize_username(bad)) << bad;
}

TEST(auth_rules, emails) {
  EXPECT_EQ(*normalize_email("Bob@Example.COM"), "bob@example.com");
  for (auto bad : {"bob", "@example.com", "bob@", "bob@example", "bob@@example.com",
                   "b ob@example.com", "bob@example.com.", "<bob@example.com>"})
    EXPECT_FALSE(normalize_email(bad)) << bad;
}

TEST(auth_rules, passwords_need_eight_characters) {
  EXPECT_FALSE(check_password("1234567"));
  EXPECT_TRUE(check_password("12345678"));
  // Eight characters, more bytes: length counts characters, not bytes.
  EXPECT_TRUE(check_password("ääääääää"));
  EXPECT_FALSE(check_password("äääääää"));
  EXPECT_FALSE(check_password(std::string(1025, 'x')));
}
