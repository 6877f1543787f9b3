// The graph API (follows, likes, comments, notifications) over real HTTP against a real
// all-in-one `pixhive` (in-process bus), on SQLite and on PostgreSQL.
#include <set>

#include <gtest/gtest.h>

#include "images.hpp"
#include "support.hpp"

using namespace pixhive;
using namespace pixhive::testing;
using nlohmann::json;
using verb = bhttp::verb;

namespace {

class graph_api : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    if (!stores_.start(GetParam())) PIXHIVE_SKIP_MISSING(stores_.why());
    server_ = stores_.server({"--access-log", "false"});
    alice_ = create_and_login(*server_, "alice");
    bob_ = create_and_login(*server_, "bob");
    carol_ = create_and_login(*server_, "carol");
  }
  uint16_t port() const { return server_->port(); }
  reply req(verb v, const std::string& target, const std::string& token,
            const json& body = nullptr) {
    return call(port(), v, target, body, token);
  }
  /// A new photo of the token's owner, once processed (others see it only then).
  std::string upload(const std::string& token, const std::string& query = "") {
    auto id = upload_photo(port(), token, make_bmp(8, 8), query, "image/bmp");
    EXPECT_EQ(settled_photo(port(), id, token)["status"], "ready")
        << "photo " << id << " was not processed";
    return id;
  }
  /// Notifications are made from events, after the request: poll until `n` are there.
  json notifications(const std::string& token, size_t n) {
    json j;
    EXPECT_TRUE(eventually(
        [&] {
          j = req(verb::get, "/api/v1/notifications", token).json();
          return j["notifications"].size() >= n;
        },
        std::chrono::seconds(30)))
        << "only " << j["notifications"].size() << " notifications: " << j.dump();
    return j;
  }

  backends stores_;
  std::unique_ptr<pixhive_server> server_;
  std::string alice_, bob_, carol_;
};

}  // namespace

TEST_P(graph_api, follow_is_idempotent_and_lists_are_paged) {
  auto f = req(verb::put, "/api/v1/users/alice/follow", bob_);
  ASSERT_EQ(f.status, 200) << f.body;
  EXPECT_EQ(f.json()["following"], true);
  EXPECT_EQ(f.json()["followers"], 1);
  EXPECT_EQ(req(verb::put, "/api/v1/users/alice/follow", bob_).json()["followers"], 1);
  EXPECT_EQ(req(verb::put, "/api/v1/users/alice/follow", carol_).json()["followers"], 2);
  EXPECT_EQ(req(verb::put, "/api/v1/users/alice/follow", alice_).status, 400);
  EXPECT_EQ(req(verb::put, "/api/v1/users/nobody/follow", bob_).status, 404);
  EXPECT_EQ(req(verb::put, "/api/v1/users/alice/follow", "").status, 401);

  auto first = req(verb::get, "/api/v1/users/alice/followers?limit=1", "").json();
  ASSERT_EQ(first["users"].size(), 1u);
  EXPECT_EQ(first["users"][0]["username"], "carol");  // newest first
  auto second =
      req(verb::get,
          "/api/v1/users/alice/followers?limit=1&cursor=" + first["next_cursor"].get<std::string>(),
          "")
          .json();
  ASSERT_EQ(second["users"].size(), 1u);
  EXPECT_EQ(second["users"][0]["username"], "bob");
  EXPECT_TRUE(second["next_cursor"].is_null());
  EXPECT_EQ(req(verb::get, "/api/v1/users/bob/following", "").json()["users"][0]["username"],
            "alice");

  auto un = req(verb::delete_, "/api/v1/users/alice/follow", bob_);
  EXPECT_EQ(un.json()["following"], false);
  EXPECT_EQ(un.json()["followers"], 1);
  EXPECT_EQ(req(verb::delete_, "/api/v1/users/alice/follow", bob_).json()["followers"], 1);
}

TEST_P(graph_api, likes_comments_and_the_notifications_they_make) {
  auto photo = upload(alice_);
  auto base = "/api/v1/photos/" + photo;
  ASSERT_EQ(req(verb::put, "/api/v1/users/alice/follow", bob_).status, 200);
  auto like = req(verb::put, base + "/like", bob_);
  ASSERT_EQ(like.status, 200) << like.body;
  EXPECT_EQ(like.json()["likes"], 1);
  EXPECT_EQ(like.json()["liked_by_me"], true);
  EXPECT_EQ(req(verb::put, base + "/like", bob_).json()["likes"], 1);
  EXPECT_EQ(req(verb::put, base + "/like", alice_).json()["likes"], 2);
  EXPECT_EQ(req(verb::get, base + "/likes", "").json()["users"].size(), 2u);
  EXPECT_EQ(req(verb::delete_, base + "/like", alice_).json()["likes"], 1);
  EXPECT_EQ(req(verb::put, "/api/v1/photos/12345/like", bob_).status, 404);

  auto c1 = req(verb::post, base + "/comments", bob_, {{"text", "Lovely strings!"}});
  ASSERT_EQ(c1.status, 201) << c1.body;
  ASSERT_EQ(req(verb::post, base + "/comments", carol_, {{"text", "Agreed"}}).status, 201);
  EXPECT_EQ(req(verb::post, base + "/comments", bob_, {{"text", "   "}}).status, 400);
  EXPECT_EQ(req(verb::post, base + "/comments", bob_, {{"text", std::string(2201, 'x')}}).status,
            400);
  EXPECT_EQ(req(verb::post, base + "/comments", bob_, {{"text", std::string(2200, 'x')}}).status,
            201);
  auto comments = req(verb::get, base + "/comments?limit=2", "").json();
  ASSERT_EQ(comments["comments"].size(), 2u);
  EXPECT_EQ(comments["comments"][0]["text"], "Lovely strings!");  // oldest first
  EXPECT_EQ(comments["comments"][1]["author"]["username"], "carol");
  EXPECT_FALSE(comments["next_cursor"].is_null());

  auto c1_id = c1.json()["id"].get<std::string>();
  EXPECT_EQ(req(verb::delete_, base + "/comments/" + c1_id, carol_).status, 403);
  EXPECT_EQ(req(verb::delete_, base + "/comments/" + c1_id, alice_).status, 204);  // owner
  EXPECT_EQ(req(verb::delete_, base + "/comments/" + c1_id, bob_).status, 404);

  // follow + like (bob) + 3 comments + photo ready; alice's own like is not announced to her.
  auto n = notifications(alice_, 6);
  std::multiset<std::string> kinds;
  for (auto& x : n["notifications"]) kinds.insert(x["kind"]);
  EXPECT_EQ(kinds.count("follow"), 1u);
  EXPECT_EQ(kinds.count("like"), 1u);
  EXPECT_EQ(kinds.count("comment"), 3u);
  EXPECT_EQ(kinds.count("photo_ready"), 1u);
  EXPECT_EQ(n["unread"], 6);
  EXPECT_EQ(req(verb::post, "/api/v1/notifications/read", alice_).status, 204);
  EXPECT_EQ(req(verb::get, "/api/v1/notifications", alice_).json()["unread"], 0);
  EXPECT_EQ(req(verb::get, "/api/v1/notifications", bob_).json()["notifications"].size(), 0u);
}

TEST_P(graph_api, private_photos_cannot_be_liked_or_read_by_others) {
  auto photo = upload(alice_, "?visibility=private");
  auto base = "/api/v1/photos/" + photo;
  EXPECT_EQ(req(verb::put, base + "/like", bob_).status, 404);
  EXPECT_EQ(req(verb::post, base + "/comments", bob_, {{"text", "hi"}}).status, 404);
  EXPECT_EQ(req(verb::get, base + "/comments", bob_).status, 404);
  EXPECT_EQ(req(verb::put, base + "/like", alice_).status, 200);
}

TEST_P(graph_api, photos_carry_like_and_comment_counts_for_the_viewer) {
  auto photo = upload(alice_);
  auto base = "/api/v1/photos/" + photo;
  ASSERT_EQ(req(verb::put, base + "/like", bob_).status, 200);
  ASSERT_EQ(req(verb::put, base + "/like", carol_).status, 200);
  ASSERT_EQ(req(verb::post, base + "/comments", carol_, {{"text", "Nice"}}).status, 201);

  auto as_bob = req(verb::get, base, bob_).json();
  EXPECT_EQ(as_bob["likes"], 2);
  EXPECT_EQ(as_bob["comments"], 1);
  EXPECT_EQ(as_bob["liked_by_me"], true);
  auto as_alice = req(verb::get, base, alice_).json();
  EXPECT_EQ(as_alice["likes"], 2);
  EXPECT_EQ(as_alice["liked_by_me"], false);
  EXPECT_EQ(req(verb::get, base, "").json()["liked_by_me"], false);

  auto second = upload(alice_);
  auto list = req(verb::get, "/api/v1/users/alice/photos", bob_).json();
  ASSERT_EQ(list["photos"].size(), 2u);
  EXPECT_EQ(list["photos"][0]["id"], second);
  EXPECT_EQ(list["photos"][0]["likes"], 0);
  EXPECT_EQ(list["photos"][0]["liked_by_me"], false);
  EXPECT_EQ(list["photos"][1]["likes"], 2);
  EXPECT_EQ(list["photos"][1]["liked_by_me"], true);
}

TEST_P(graph_api, profiles_count_followers_following_and_photos) {
  ASSERT_EQ(req(verb::put, "/api/v1/users/alice/follow", bob_).status, 200);
  ASSERT_EQ(req(verb::put, "/api/v1/users/alice/follow", carol_).status, 200);
  ASSERT_EQ(req(verb::put, "/api/v1/users/carol/follow", alice_).status, 200);
  upload(alice_);
  upload(alice_, "?visibility=private");

  auto as_bob = req(verb::get, "/api/v1/users/alice", bob_).json();
  EXPECT_EQ(as_bob["followers"], 2);
  EXPECT_EQ(as_bob["following"], 1);
  EXPECT_EQ(as_bob["photos"], 1);  // the private one is not bob's to count
  EXPECT_EQ(as_bob["followed_by_me"], true);
  auto as_alice = req(verb::get, "/api/v1/users/alice", alice_).json();
  EXPECT_EQ(as_alice["photos"], 2);
  EXPECT_EQ(as_alice["followed_by_me"], false);
  auto anonymous = req(verb::get, "/api/v1/users/alice", "").json();
  EXPECT_EQ(anonymous["followers"], 2);
  EXPECT_FALSE(anonymous.contains("followed_by_me"));
  EXPECT_EQ(req(verb::get, "/api/v1/users/bob", "").json()["photos"], 0);
}

INSTANTIATE_TEST_SUITE_P(backends, graph_api, ::testing::Values("sqlite", "postgres"),
                         backend_name);
