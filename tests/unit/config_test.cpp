#include <cstdlib>

#include <gtest/gtest.h>

#include "pixhive/core/config.hpp"

using namespace pixhive;

namespace {

options make() {
  options o;
  o.add("port", "8080", "port")
      .add("read-timeout", "30s", "timeout")
      .add_flag("verbose", "talk more");
  return o;
}

}  // namespace

TEST(config, defaults_apply_when_nothing_is_given) {
  auto o = make();
  ASSERT_TRUE(o.parse({}));
  EXPECT_EQ(o.get("port"), "8080");
  EXPECT_FALSE(o.is_set("port"));
  EXPECT_EQ(*o.get_int("port"), 8080);
  EXPECT_FALSE(*o.get_bool("verbose"));
}

TEST(config, flags_win_over_environment) {
  setenv("PIXHIVE_PORT", "9000", 1);
  setenv("PIXHIVE_READ_TIMEOUT", "250ms", 1);
  auto o = make();
  ASSERT_TRUE(o.parse({"--port", "9100"}));
  EXPECT_EQ(*o.get_int("port"), 9100);
  EXPECT_EQ(o.get_duration("read-timeout")->count(), 250);
  auto env_only = make();
  ASSERT_TRUE(env_only.parse({}));
  EXPECT_EQ(*env_only.get_int("port"), 9000);
  unsetenv("PIXHIVE_PORT");
  unsetenv("PIXHIVE_READ_TIMEOUT");
}

TEST(config, equals_form_flags_and_positionals) {
  auto o = make();
  ASSERT_TRUE(o.parse({"create-user", "--port=81", "--verbose"}));
  EXPECT_EQ(*o.get_int("port"), 81);
  EXPECT_TRUE(*o.get_bool("verbose"));
  ASSERT_EQ(o.positional().size(), 1u);
  EXPECT_EQ(o.positional()[0], "create-user");
}

TEST(config, errors_say_what_to_fix) {
  auto o = make();
  auto unknown = o.parse({"--nope"});
  ASSERT_FALSE(unknown);
  EXPECT_NE(to_problem(unknown.error()).message.find("--nope"), std::string::npos);
  auto missing = make();
  EXPECT_FALSE(missing.parse({"--port"}));
  auto bad = make();
  ASSERT_TRUE(bad.parse({"--port", "eighty", "--read-timeout", "soon"}));
  EXPECT_FALSE(bad.get_int("port"));
  EXPECT_FALSE(bad.get_duration("read-timeout"));
}

TEST(config, durations_and_help) {
  auto o = make();
  ASSERT_TRUE(o.parse({"--read-timeout", "5m"}));
  EXPECT_EQ(o.get_duration("read-timeout")->count(), 300000);
  auto help = o.help();
  EXPECT_NE(help.find("--read-timeout"), std::string::npos);
  EXPECT_NE(help.find("PIXHIVE_READ_TIMEOUT"), std::string::npos);
  EXPECT_NE(help.find("default: 30s"), std::string::npos);
}
