#include <gtest/gtest.h>

#include <caf/all.hpp>

#include "pixhive/contracts/auth.hpp"
#include "pixhive/contracts/media.hpp"

using namespace pixhive::contracts;

namespace {

struct serialization : ::testing::Test {
  caf::actor_system_config cfg;
  std::unique_ptr<caf::actor_system> sys;
  void SetUp() override {
    add_auth_types(cfg);
    add_media_types(cfg);
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

TEST_F(serialization, every_media_message_type_round_trips) {
  viewer who{5, "alice", true};
  variant_info thumb{"thumb", "image/jpeg", 1234, 320, 200};
  photo_view photo{9,    5,         "alice",      "caption #x", {"x", "café"},
                   "k1", "private", "image/jpeg", 99,           640,
                   400,  "ab12",    "ready",      1700000000,   {thumb}};
  check(who);
  check(thumb);
  check(photo);
  check(upload_request{who, std::string("\xff\xd8 bytes\0", 10), "c", "k", "public"});
  check(get_photo_request{9, who});
  check(get_blob_request{9, "thumb", who});
  check(blob_reply{"bytes", "image/png", "ab", false});
  check(list_photos_request{"alice", 100, 20, who});
  check(photo_page{{photo, photo}, 3});
  check(photo_by_key_request{"alice", "k1", who});
  check(delete_photo_request{9, who});
  check(put_variant_request{9, "thumb", "bytes", "image/jpeg", 320, 200});
  check(set_status_request{9, "failed", "decoder said no"});
  check(cache_stats_request{});
  check(configure_cache_request{64, "random"});
  check(clear_cache_request{});
  check(cache_stats{1, 2, 3, "lru", 4, 5, 6});
  check(media_stats_request{});
  check(status_count{"ready", 7});
  check(media_stats{1, 2, {{"ready", 1}, {"processing", 2}}, 3, 4});
}
