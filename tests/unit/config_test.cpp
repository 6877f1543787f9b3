#include <cstdlib>
#include <string>
#include <vector>

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

namespace {

options make_checked() {
  options o;
  o.add("graph-workers", "2", "workers", check::whole(1, 64))
      .add("cache-mb", "256", "cache", check::at_least(0))
      .add("cache-policy", "lru", "eviction", check::one_of({"lru", "random"}))
      .add("object-threshold", "0.4", "confidence", check::number(0.05, 1))
      .add("operation-timeout", "30s", "budget", check::duration(std::chrono::milliseconds(100)))
      .add("metrics-port", "9180", "metrics", check::whole(0, 65535).or_one_of({"off"}))
      .add("public-url", "http://localhost:8080", "url",
           check::starts_with({"http://", "https://"}))
      .add("access-log", "true", "log", check::boolean())
      .add_flag("no-ocr", "skip ocr");
  return o;
}

std::string message_of(const result<void>& r) {
  return r ? std::string() : to_problem(r.error()).message;
}

}  // namespace

TEST(config, declared_checks_accept_good_values) {
  auto o = make_checked();
  ASSERT_TRUE(
      o.parse({"--graph-workers", "64", "--cache-mb", "0", "--cache-policy", "random",
               "--object-threshold", "0.05", "--operation-timeout", "100ms", "--metrics-port",
               "off", "--public-url", "https://x.example", "--access-log", "No", "--no-ocr"}));
  EXPECT_EQ(*o.get_int("graph-workers"), 64);
  EXPECT_EQ(*o.get_int("cache-mb"), 0);
  EXPECT_EQ(o.get("cache-policy"), "random");
  EXPECT_DOUBLE_EQ(*o.get_number("object-threshold"), 0.05);
  EXPECT_EQ(o.get_duration("operation-timeout")->count(), 100);
  EXPECT_EQ(o.get("metrics-port"), "off");
  EXPECT_FALSE(*o.get_bool("access-log"));
  EXPECT_TRUE(*o.get_bool("no-ocr"));
  auto port = make_checked();
  ASSERT_TRUE(port.parse({"--metrics-port", "0"}));
  EXPECT_EQ(*port.get_int("metrics-port"), 0);
}

TEST(config, a_value_a_check_refuses_fails_parse_naming_the_option) {
  struct bad {
    std::vector<std::string> args;
    std::string says;
  };
  for (const auto& [args, says] : std::vector<bad>{
           {{"--graph-workers", "99"}, "option --graph-workers must be 1..64, got '99'"},
           {{"--graph-workers=0"}, "option --graph-workers must be 1..64, got '0'"},
           {{"--graph-workers", "two"}, "option --graph-workers must be 1..64, got 'two'"},
           {{"--graph-workers", "0x10"}, "option --graph-workers must be 1..64"},
           {{"--cache-mb", "-1"}, "option --cache-mb must be at least 0, got '-1'"},
           {{"--cache-policy", "LRU"}, "option --cache-policy must be lru or random, got 'LRU'"},
           {{"--object-threshold", "1.5"},
            "option --object-threshold must be a number in [0.05, 1], got '1.5'"},
           {{"--object-threshold", "nan"}, "option --object-threshold must be a number"},
           {{"--operation-timeout", "50ms"},
            "option --operation-timeout must be a duration of at least 100ms"},
           {{"--operation-timeout", "soon"}, "option --operation-timeout must be a duration"},
           {{"--metrics-port", "70000"}, "option --metrics-port must be 0..65535 or off"},
           {{"--public-url", "localhost"},
            "option --public-url must start with http:// or https://"},
           {{"--access-log", "maybe"}, "option --access-log must be true or false, got 'maybe'"},
           {{"--no-ocr=perhaps"}, "option --no-ocr must be true or false, got 'perhaps'"},
       }) {
    auto o = make_checked();
    auto message = message_of(o.parse(args));
    EXPECT_NE(message.find(says), std::string::npos) << args[0] << ": " << message;
    // Nothing changes when parsing fails.
    EXPECT_FALSE(o.is_set("graph-workers"));
    EXPECT_EQ(o.get("graph-workers"), "2");
  }
}

TEST(config, a_refused_environment_value_names_its_variable) {
  setenv("PIXHIVE_GRAPH_WORKERS", "99", 1);
  auto o = make_checked();
  auto message = message_of(o.parse({}));
  EXPECT_NE(message.find("option --graph-workers (from PIXHIVE_GRAPH_WORKERS) must be 1..64, got "
                         "'99'"),
            std::string::npos)
      << message;
  // The command line wins, and its value is the one checked.
  auto overridden = make_checked();
  ASSERT_TRUE(overridden.parse({"--graph-workers", "3"}));
  EXPECT_EQ(*overridden.get_int("graph-workers"), 3);
  unsetenv("PIXHIVE_GRAPH_WORKERS");
}

TEST(config, an_empty_environment_variable_sets_the_option_to_empty) {
  setenv("PIXHIVE_PUBLIC_URL", "", 1);
  setenv("PIXHIVE_NO_OCR", "", 1);
  options o;
  o.add("web-dir", "/srv/web", "web app").add_flag("no-ocr", "skip ocr");
  setenv("PIXHIVE_WEB_DIR", "", 1);
  ASSERT_TRUE(o.parse({}));
  EXPECT_TRUE(o.is_set("web-dir"));
  EXPECT_EQ(o.get("web-dir"), "");
  EXPECT_FALSE(*o.get_bool("no-ocr"));
  // ... and an empty value is checked like any other.
  auto checked = make_checked();
  auto message = message_of(checked.parse({}));
  EXPECT_NE(message.find("option --public-url (from PIXHIVE_PUBLIC_URL) must start with"),
            std::string::npos)
      << message;
  unsetenv("PIXHIVE_WEB_DIR");
  unsetenv("PIXHIVE_NO_OCR");
  unsetenv("PIXHIVE_PUBLIC_URL");
}

TEST(config, a_default_its_check_refuses_fails_get) {
  options o;
  o.add("processing-workers", "512", "workers", check::whole(1, 256));
  ASSERT_TRUE(o.parse({}));
  auto workers = o.get_int("processing-workers");
  ASSERT_FALSE(workers);
  EXPECT_EQ(to_problem(workers.error()).message,
            "option --processing-workers must be 1..256, got '512'");
  EXPECT_EQ(to_problem(workers.error()).code, "bad_config");
}

TEST(config, the_last_of_a_repeated_option_counts) {
  auto o = make();
  ASSERT_TRUE(o.parse({"--port", "1", "--port=2", "--", "--port"}));
  EXPECT_EQ(*o.get_int("port"), 2);
  ASSERT_EQ(o.positional(), std::vector<std::string>{"--port"});
}

TEST(config, unknown_options_suggest_the_nearest) {
  auto o = make_checked();
  auto message = message_of(o.parse({"--graph-worker", "3"}));
  EXPECT_NE(message.find("unknown option --graph-worker"), std::string::npos) << message;
  EXPECT_NE(message.find("did you mean --graph-workers?"), std::string::npos) << message;
  auto far = message_of(make_checked().parse({"--zzz=1"}));
  EXPECT_NE(far.find("unknown option --zzz"), std::string::npos) << far;
  EXPECT_EQ(far.find("did you mean"), std::string::npos) << far;
  auto missing = message_of(make_checked().parse({"--cache-mb"}));
  EXPECT_EQ(missing, "option --cache-mb needs a value");
}

TEST(config, help_shows_what_each_option_accepts) {
  auto help = make_checked().help();
  EXPECT_NE(
      help.find("--graph-workers 1..64\n      workers (default: 2) [env PIXHIVE_GRAPH_WORKERS]"),
      std::string::npos)
      << help;
  EXPECT_NE(help.find("--cache-policy lru|random"), std::string::npos) << help;
  EXPECT_NE(help.find("--metrics-port 0..65535|off"), std::string::npos) << help;
  EXPECT_NE(help.find("--operation-timeout DURATION>=100ms"), std::string::npos) << help;
  EXPECT_NE(help.find("--no-ocr\n      skip ocr [env PIXHIVE_NO_OCR]"), std::string::npos) << help;
}
