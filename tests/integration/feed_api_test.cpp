// The feed API (home and public timelines) over real HTTP against a real all-in-one `pixhive`:
// on SQLite with the in-process bus and SQL timelines, and on PostgreSQL with Redis Streams and
// Redis sorted-set timelines.
#include <algorithm>
#include <functional>
#include <set>

#include <gtest/gtest.h>
#include <hiredis/hiredis.h>

#include "images.hpp"
#include "pixhive/store/sql.hpp"
#include "support.hpp"

using namespace pixhive;
using namespace pixhive::testing;
using nlohmann::json;
using verb = bhttp::verb;

namespace {

class feed_api : public ::testing::TestWithParam<std::string> {
 protected:
  /// Options of this fixture's server beyond the backend's.
  virtual std::vector<std::string> extra_args() const { return {}; }

  void SetUp() override {
    if (!stores_.start(GetParam())) PIXHIVE_SKIP_MISSING(stores_.why());
    std::vector<std::string> args{"--access-log", "false"};
    if (stores_.redis()) args.insert(args.end(), {"--timelines", stores_.redis_url()});
    auto extra = extra_args();
    args.insert(args.end(), extra.begin(), extra.end());
    server_ = stores_.server(args);
    alice_ = create_and_login(*server_, "alice");
    bob_ = create_and_login(*server_, "bob");
    carol_ = create_and_login(*server_, "carol");
  }
  reply req(verb v, const std::string& target, const std::string& token,
            const json& body = nullptr) {
    return call(server_->port(), v, target, body, token);
  }
  std::string upload(const std::string& token, const std::string& query = "") {
    return upload_photo(server_->port(), token, make_bmp(8, 8, static_cast<char>(++shade_)), query,
                        "image/bmp");
  }
  /// Every item id of a feed, following next_cursor to the end.
  std::vector<std::string> all_ids(const std::string& path, const std::string& token,
                                   int limit = 100) {
    std::vector<std::string> ids;
    std::string cursor;
    for (int page = 0; page < 100; ++page) {
      auto r = req(
          verb::get,
          path + "?limit=" + std::to_string(limit) + (cursor.empty() ? "" : "&cursor=" + cursor),
          token);
      EXPECT_EQ(r.status, 200) << r.body;
      auto j = r.json();
      for (auto& item : j["items"]) ids.push_back(item["id"]);
      if (j["next_cursor"].is_null()) break;
      cursor = j["next_cursor"];
    }
    return ids;
  }
  /// Timelines are written from events, after the request: poll (bounded) until `ok` holds.
  std::vector<std::string> wait_for(const std::string& path, const std::string& token,
                                    const std::function<bool(const std::vector<std::string>&)>& ok,
                                    const std::string& what) {
    std::vector<std::string> ids;
    EXPECT_TRUE(eventually(
        [&] {
          ids = all_ids(path, token);
          return ok(ids);
        },
        std::chrono::seconds(30)))
        << what << "; " << path << " has " << json(ids).dump();
    return ids;
  }
  static bool has(const std::vector<std::string>& ids, const std::string& id) {
    return std::find(ids.begin(), ids.end(), id) != ids.end();
  }
  double metric(const std::string& series) { return server_->metric(series); }

  backends stores_;
  std::unique_ptr<pixhive_server> server_;
  std::string alice_, bob_, carol_;
  int shade_ = 0x20;
};

/// A server whose authors count as celebrities from their second follower on.
class feed_celebrity : public feed_api {
 protected:
  std::vector<std::string> extra_args() const override {
    return {"--feed-celebrity-threshold", "1"};
  }
};

}  // namespace

TEST_P(feed_api, home_shows_own_and_followed_photos_newest_first) {
  ASSERT_EQ(req(verb::put, "/api/v1/users/alice/follow", bob_).status, 200);
  auto a1 = upload(alice_);
  auto b1 = upload(bob_);
  auto a2 = upload(alice_);
  auto c1 = upload(carol_);
  auto home = wait_for(
      "/api/v1/feed/home", bob_, [&](auto& ids) { return ids.size() >= 3; }, "bob's home feed");
  EXPECT_EQ(home, (std::vector<std::string>{a2, b1, a1}));  // carol is not followed

  auto page = req(verb::get, "/api/v1/feed/home?limit=1", bob_).json();
  ASSERT_EQ(page["items"].size(), 1u);
  auto& item = page["items"][0];
  EXPECT_EQ(item["id"], a2);
  EXPECT_EQ(item["owner"]["username"], "alice");
  EXPECT_TRUE(item["owner"].contains("display_name"));
  EXPECT_EQ(item["thumbnail_url"], "/api/v1/photos/" + a2 + "/variants/thumbnail");
  EXPECT_EQ(item["display_url"], "/api/v1/photos/" + a2 + "/variants/display");
  EXPECT_EQ(item["width"], 8);
  EXPECT_EQ(item["likes"], 0);
  EXPECT_FALSE(page["next_cursor"].is_null());

  ASSERT_EQ(req(verb::put, "/api/v1/photos/" + a2 + "/like", bob_).status, 200);
  auto liked = req(verb::get, "/api/v1/feed/home?limit=1", bob_).json()["items"][0];
  EXPECT_EQ(liked["likes"], 1);
  EXPECT_EQ(liked["liked_by_me"], true);

  auto pub = wait_for(
      "/api/v1/feed/public", "", [&](auto& ids) { return ids.size() >= 4; }, "public feed");
  EXPECT_EQ(pub, (std::vector<std::string>{c1, a2, b1, a1}));
  EXPECT_EQ(req(verb::get, "/api/v1/feed/home", "").status, 401);
  EXPECT_EQ(req(verb::get, "/api/v1/feed/home?limit=0", bob_).status, 400);
}

TEST_P(feed_api, pages_have_no_skips_or_repeats_while_photos_arrive) {
  ASSERT_EQ(req(verb::put, "/api/v1/users/alice/follow", bob_).status, 200);
  std::vector<std::string> before;
  for (int i = 0; i < 12; ++i) before.push_back(upload(alice_));
  wait_for(
      "/api/v1/feed/home", bob_, [&](auto& ids) { return ids.size() >= 12; }, "12 photos");

  // Page through with a small limit while alice keeps uploading between pages.
  std::vector<std::string> seen;
  std::string cursor;
  for (int page = 0; page < 20; ++page) {
    auto j = req(verb::get,
                 "/api/v1/feed/home?limit=5" + (cursor.empty() ? "" : "&cursor=" + cursor), bob_)
                 .json();
    for (auto& item : j["items"]) seen.push_back(item["id"]);
    upload(alice_);
    if (j["next_cursor"].is_null()) break;
    cursor = j["next_cursor"];
  }
  std::reverse(before.begin(), before.end());
  EXPECT_EQ(seen, before);
  EXPECT_EQ(std::set<std::string>(seen.begin(), seen.end()).size(), seen.size());
}

TEST_P(feed_api, unfollow_and_delete_remove_photos) {
  ASSERT_EQ(req(verb::put, "/api/v1/users/alice/follow", bob_).status, 200);
  ASSERT_EQ(req(verb::put, "/api/v1/users/carol/follow", bob_).status, 200);
  auto a1 = upload(alice_);
  auto c1 = upload(carol_);
  auto c2 = upload(carol_);
  wait_for(
      "/api/v1/feed/home", bob_, [&](auto& ids) { return ids.size() == 3; }, "3 photos");

  ASSERT_EQ(req(verb::delete_, "/api/v1/users/alice/follow", bob_).status, 200);
  auto home = wait_for(
      "/api/v1/feed/home", bob_, [&](auto& ids) { return !has(ids, a1); }, "alice's photo gone");
  EXPECT_EQ(home, (std::vector<std::string>{c2, c1}));

  ASSERT_EQ(req(verb::delete_, "/api/v1/photos/" + c2, carol_).status, 204);
  home = wait_for(
      "/api/v1/feed/home", bob_, [&](auto& ids) { return !has(ids, c2); }, "deleted photo gone");
  EXPECT_EQ(home, (std::vector<std::string>{c1}));
  EXPECT_FALSE(has(all_ids("/api/v1/feed/public", ""), c2));

  // Following again brings the followee's earlier photos back.
  ASSERT_EQ(req(verb::put, "/api/v1/users/alice/follow", bob_).status, 200);
  home = wait_for(
      "/api/v1/feed/home", bob_, [&](auto& ids) { return has(ids, a1); }, "alice's photo back");
  EXPECT_EQ(home, (std::vector<std::string>{c1, a1}));
}

TEST_P(feed_api, private_photos_stay_with_their_owner) {
  ASSERT_EQ(req(verb::put, "/api/v1/users/alice/follow", bob_).status, 200);
  auto secret = upload(alice_, "?visibility=private");
  auto open = upload(alice_);
  wait_for(
      "/api/v1/feed/home", alice_, [&](auto& ids) { return ids.size() == 2; },
      "alice sees both of hers");
  auto home = wait_for(
      "/api/v1/feed/home", bob_, [&](auto& ids) { return has(ids, open); }, "bob sees the public");
  EXPECT_FALSE(has(home, secret));
  EXPECT_FALSE(has(all_ids("/api/v1/feed/public", ""), secret));
  EXPECT_FALSE(has(all_ids("/api/v1/feed/public", bob_), secret));
}

TEST_P(feed_celebrity, photos_are_merged_at_read_time) {
  ASSERT_EQ(req(verb::put, "/api/v1/users/alice/follow", bob_).status, 200);
  ASSERT_EQ(req(verb::put, "/api/v1/users/alice/follow", carol_).status, 200);  // 2 > 1
  ASSERT_EQ(req(verb::put, "/api/v1/users/bob/follow", carol_).status, 200);    // 1: fanned out
  auto b1 = upload(bob_);
  auto a1 = upload(alice_);
  auto b2 = upload(bob_);
  auto home = wait_for(
      "/api/v1/feed/home", carol_, [&](auto& ids) { return ids.size() == 3; },
      "carol sees alice (merged) and bob (fanned out)");
  EXPECT_EQ(home, (std::vector<std::string>{b2, a1, b1}));
  EXPECT_GE(metric("pixhive_feed_fanout_total{kind=\"skipped\"}"), 1);
  // Merging keeps pages exact: one item per page walks the same order.
  EXPECT_EQ(all_ids("/api/v1/feed/home", carol_, 1), home);
}

TEST_P(feed_api, a_missing_timeline_is_rebuilt_from_the_database) {
  ASSERT_EQ(req(verb::put, "/api/v1/users/alice/follow", bob_).status, 200);
  auto a1 = upload(alice_);
  auto b1 = upload(bob_);
  auto a2 = upload(alice_);
  auto home = wait_for(
      "/api/v1/feed/home", bob_, [&](auto& ids) { return ids.size() == 3; }, "3 photos");
  auto rebuilds = metric("pixhive_feed_timeline_rebuilds_total");

  // Evict every timeline, as a new Redis or a flushed table would.
  if (GetParam() == "postgres_redis") {
    auto* c = redisConnect("127.0.0.1", stores_.redis()->port());
    ASSERT_TRUE(c && !c->err);
    auto* r = static_cast<redisReply*>(redisCommand(c, "EVAL %s 0",
                                                    "for _, k in ipairs(redis.call('KEYS', "
                                                    "'pixhive:timeline:*')) do "
                                                    "redis.call('DEL', k) end return 0"));
    ASSERT_TRUE(r && r->type != REDIS_REPLY_ERROR);
    freeReplyObject(r);
    redisFree(c);
  } else {
    auto db = store::database::open(stores_.db_url(), 1);
    ASSERT_TRUE(db) << to_problem(db.error()).message;
    ASSERT_TRUE((*db)->query("DELETE FROM feed_timeline_users"));
    ASSERT_TRUE((*db)->query("DELETE FROM feed_timelines"));
  }
  EXPECT_EQ(all_ids("/api/v1/feed/home", bob_), home);
  EXPECT_EQ(home, (std::vector<std::string>{a2, b1, a1}));
  EXPECT_EQ(metric("pixhive_feed_timeline_rebuilds_total"), rebuilds + 1);
}

INSTANTIATE_TEST_SUITE_P(backends, feed_api, ::testing::Values("sqlite", "postgres_redis"),
                         backend_name);
INSTANTIATE_TEST_SUITE_P(backends, feed_celebrity, ::testing::Values("sqlite", "postgres_redis"),
                         backend_name);
