#include <gtest/gtest.h>

#include <caf/all.hpp>

#include "pixhive/contracts/auth.hpp"

using namespace pixhive::contracts;

namespace {

struct serialization : ::testing::Test {
  caf::actor_system_config cfg;
  std::unique_ptr<caf::actor_system> sys;
  void SetUp() override {
    add_auth_types(cfg);
    cfg.set("logger.verbosity", caf::atom("quiet"));
    sys = std::make_unique<caf::actor_system>(cfg);
  }

  template <class T>
  T round_trip(T x) {
    std::vector<char> buf;
    caf::binary_serializer out{*sys, buf};
    EXPECT_FALSE(out(x));
    T y;
    caf::binary_deserializer in{*sys, buf};
    EXPECT_FALSE(in(y));
    return y;
  }

  template <class T>
  void check(const T& x) {
    EXPECT_TRUE(round_trip(x) == x) << caf::deep_to_string(x);
    // Also as a type-erased message, the way the middleman ships it.
    auto msg = caf::make_message(x);
    std::vector<char> buf;
    caf::binary_serializer out{*sys, buf};
    EXPECT_FALSE(out(msg));
    caf::message back;
    caf::binary_deserializer in{*sys, buf};
    EXPECT_FALSE(in(back));
    ASSERT_TRUE(back.match_elements<T>());
    EXPECT_TRUE(back.get_as<T>(0) == x);
  }
};

user_view sample_user() {
  return {7, "alice", "alice@example.com", "Alice", "bio ✓", "admin", true, true, 1700000000};
}

}  // namespace

TEST_F(serialization, every_message_type_round_trips) {
  check(sample_user());
  check(signup_request{"alice", "alice@example.com", "pw pw pw pw"});
  check(verify_request{"alice", "123456"});
  check(resend_request{"alice"});
  check(login_request{"alice@example.com", "secret"});
  check(refresh_request{"token"});
  check(logout_request{"token"});
  check(session_tokens{"a.b.c", "r", 900, sample_user()});
  check(get_user_request{9});
  check(get_profile_request{"bob"});
  check(update_profile_request{9, true, "Bob", false, ""});
  check(list_users_request{5, 50});
  check(user_page{{sample_user(), sample_user()}, 99});
  check(set_disabled_request{3, true});
  check(create_user_request{"root", "root@example.com", "pw", true, true});
  check(ping_request{});
  check(done{false});
}
