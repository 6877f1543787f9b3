// The search API over real HTTP against a real all-in-one `pixhive`: SQLite FTS5 with the
// in-process bus, and PostgreSQL full-text search + pg_trgm with Redis Streams. Both runs are the
// same query tests.
#include <algorithm>

#include <gtest/gtest.h>

#include "images.hpp"
#include "support.hpp"

using namespace pixhive;
using namespace pixhive::testing;
using nlohmann::json;
using verb = bhttp::verb;

namespace {

std::string url_encode(const std::string& s) {
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.') {
      out += static_cast<char>(c);
    } else {
      char buf[4];
      std::snprintf(buf, sizeof buf, "%%%02X", c);
      out += buf;
    }
  }
  return out;
}

class search_api : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    if (!stores_.start(GetParam())) PIXHIVE_SKIP_MISSING(stores_.why());
    server_ = stores_.server({"--access-log", "false"});
    alice_ = create_and_login(*server_, "alice");
    bob_ = create_and_login(*server_, "bob");
  }

  reply req(verb v, const std::string& target, const std::string& token,
            const json& body = nullptr) {
    return call(server_->port(), v, target, body, token);
  }
  std::string upload(const std::string& token, const std::string& caption,
                     const std::string& visibility = "public") {
    return upload_photo(server_->port(), token, make_bmp(8, 8, static_cast<char>(++shade_)),
                        "?visibility=" + visibility + "&caption=" + url_encode(caption),
                        "image/bmp");
  }
  /// Signs a user up through the API (so the server itself announces it) and sets its name.
  std::string sign_up(const std::string& name, const std::string& display_name) {
    auto s = req(verb::post, "/api/v1/auth/signup", "",
                 {{"username", name},
                  {"email", name + "@example.com"},
                  {"password", "correct horse battery"}});
    EXPECT_EQ(s.status, 201) << s.body;
    auto code = latest_code(server_->data_dir(), name + "@example.com");
    EXPECT_EQ(
        req(verb::post, "/api/v1/auth/verify", "", {{"username", name}, {"code", code}}).status,
        200);
    auto login = req(verb::post, "/api/v1/auth/login", "",
                     {{"login", name}, {"password", "correct horse battery"}});
    auto token = login.json().value("access_token", "");
    EXPECT_EQ(req(verb::patch, "/api/v1/users/me", token, {{"display_name", display_name}}).status,
              200);
    return token;
  }
  json search(const std::string& q, const std::string& type, const std::string& token,
              const std::string& extra = "") {
    auto r = req(verb::get, "/api/v1/search?type=" + type + "&q=" + url_encode(q) + extra, token);
    EXPECT_EQ(r.status, 200) << r.body;
    return r.json();
  }
  static std::vector<std::string> ids(const json& j, const char* field = "id") {
    std::vector<std::string> out;
    for (auto& item : j["items"]) out.push_back(item[field]);
    return out;
  }
  /// The index is written from events, after the request: poll (bounded) until `n` items.
  json wait_for(const std::string& q, const std::string& type, const std::string& token, size_t n) {
    json j;
    EXPECT_TRUE(eventually(
        [&] {
          j = search(q, type, token);
          return j["items"].size() >= n;
        },
        std::chrono::seconds(30)))
        << "searching " << type << " for '" << q << "' found " << j.dump();
    return j;
  }

  backends stores_;
  std::unique_ptr<pixhive_server> server_;
  std::string alice_, bob_;
  int shade_ = 0x30;
};

}  // namespace

TEST_P(search_api, photos_by_caption_hashtag_and_automatic_tag) {
  auto beach = upload(alice_, "Golden hour at the beach #sunset #Summer_2026");
  auto hills = upload(bob_, "Morning in the hills #sunrise");
  EXPECT_EQ(ids(wait_for("#sunset", "photos", "", 1)), std::vector<std::string>{beach});
  EXPECT_EQ(ids(search("golden BEACH", "photos", "")), std::vector<std::string>{beach});
  EXPECT_EQ(ids(search("summer_2026", "photos", "")), std::vector<std::string>{beach});
  EXPECT_TRUE(search("mountain", "photos", "")["items"].empty());
  // Each upload reaches the index on its own: bob's may come after alice's.
  auto card = wait_for("hills", "photos", bob_, 1)["items"][0];
  EXPECT_EQ(card["id"], hills);
  EXPECT_EQ(card["owner"]["username"], "bob");
  EXPECT_EQ(card["thumbnail_url"], "/api/v1/photos/" + hills + "/variants/thumbnail");

  // The automatic tags processing found are searchable words too.
  auto photo = req(verb::get, "/api/v1/photos/" + beach, "").json();
  ASSERT_FALSE(photo["tags"].empty()) << photo.dump();
  auto tag = photo["tags"][0].get<std::string>();
  auto found = ids(search(tag, "photos", ""));
  EXPECT_NE(std::find(found.begin(), found.end(), beach), found.end()) << tag;

  EXPECT_EQ(req(verb::get, "/api/v1/search?q=", "").status, 400);
  EXPECT_EQ(req(verb::get, "/api/v1/search?q=%23%21", "").status, 400);
  EXPECT_EQ(req(verb::get, "/api/v1/search?q=x&type=planets", "").status, 400);
  EXPECT_EQ(req(verb::get, "/api/v1/search?q=" + std::string(201, 'a'), "").status, 400);
}

TEST_P(search_api, ranked_by_relevance_then_recency_and_paged) {
  auto once = upload(alice_, "a harbour at noon with friends and boats");
  auto thrice = upload(alice_, "harbour harbour harbour");
  auto older = upload(bob_, "quiet harbour");
  auto newer = upload(bob_, "quiet harbour");
  auto all = ids(wait_for("harbour", "photos", "", 4));
  ASSERT_EQ(all.size(), 4u);
  EXPECT_EQ(all[0], thrice);  // most relevant first
  // Equally relevant: newest first.
  auto pos = [&](const std::string& id) {
    return std::find(all.begin(), all.end(), id) - all.begin();
  };
  EXPECT_LT(pos(newer), pos(older));
  EXPECT_EQ(all.back(), once);

  std::vector<std::string> paged;
  std::string cursor;
  for (int i = 0; i < 10; ++i) {
    auto j =
        search("harbour", "photos", "", "&limit=3" + (cursor.empty() ? "" : "&cursor=" + cursor));
    for (auto& id : ids(j)) paged.push_back(id);
    if (j["next_cursor"].is_null()) break;
    cursor = j["next_cursor"];
  }
  EXPECT_EQ(paged, all);
}

TEST_P(search_api, private_photos_are_found_only_by_their_owner) {
  auto secret = upload(alice_, "my #secretgarden plan", "private");
  EXPECT_EQ(ids(wait_for("secretgarden", "photos", alice_, 1)), std::vector<std::string>{secret});
  EXPECT_TRUE(search("secretgarden", "photos", bob_)["items"].empty());
  EXPECT_TRUE(search("secretgarden", "photos", "")["items"].empty());
  EXPECT_TRUE(search("secretg", "tags", bob_)["items"].empty());
  EXPECT_EQ(search("secretg", "tags", alice_)["items"].size(), 1u);
  auto page = req(verb::get, "/api/v1/tags/secretgarden", bob_).json();
  EXPECT_EQ(page["photos_total"], 0);
  EXPECT_TRUE(page["items"].empty());
  EXPECT_TRUE(page["top_uploaders"].empty());
}

TEST_P(search_api, tags_by_prefix_and_the_tag_page) {
  auto s1 = upload(alice_, "#sunset one");
  upload(bob_, "#sunrise");
  auto s2 = upload(alice_, "#sunset two");
  auto s3 = upload(bob_, "#Sunset three");
  auto tags = wait_for("sun", "tags", "", 2);
  ASSERT_EQ(tags["items"].size(), 2u);
  // Each upload reaches the index on its own: wait for the third #sunset.
  eventually(
      [&] {
        if (tags["items"][0]["photos"] == 3) return true;
        tags = search("sun", "tags", "");
        return false;
      },
      std::chrono::seconds(30));
  EXPECT_EQ(tags["items"][0], (json{{"tag", "sunset"}, {"photos", 3}}));
  EXPECT_EQ(tags["items"][1], (json{{"tag", "sunrise"}, {"photos", 1}}));
  EXPECT_EQ(search("#sunr", "tags", "")["items"].size(), 1u);

  auto page = req(verb::get, "/api/v1/tags/sunset?limit=2", "").json();
  EXPECT_EQ(page["tag"], "sunset");
  EXPECT_EQ(page["photos_total"], 3);
  EXPECT_EQ(ids(page), (std::vector<std::string>{s3, s2}));
  auto rest =
      req(verb::get, "/api/v1/tags/sunset?limit=2&cursor=" + page["next_cursor"].get<std::string>(),
          "")
          .json();
  EXPECT_EQ(ids(rest), std::vector<std::string>{s1});
  ASSERT_EQ(page["top_uploaders"].size(), 2u);
  EXPECT_EQ(page["top_uploaders"][0]["username"], "alice");
  EXPECT_EQ(page["top_uploaders"][0]["photos"], 2);
}

TEST_P(search_api, users_by_prefix_and_with_a_typo) {
  sign_up("margaret", "Margaret Hamilton");
  sign_up("grace", "Grace Hopper");
  sign_up("margot", "Margot Lee");
  auto found = wait_for("marg", "users", "", 2);
  // Both start with "marg"; the closer name first.
  EXPECT_EQ(ids(found, "username"), (std::vector<std::string>{"margot", "margaret"}));
  // An exact name beats newer, longer ones that start the same, even on a one-item page.
  sign_up("gracefield", "Field");
  sign_up("gracelyn", "Lyn");
  wait_for("gracel", "users", "", 1);
  EXPECT_EQ(ids(search("grace", "users", "", "&limit=1"), "username"),
            std::vector<std::string>{"grace"});
  EXPECT_EQ(ids(search("hopp", "users", ""), "username"), std::vector<std::string>{"grace"});
  EXPECT_EQ(ids(search("magraret", "users", ""), "username")[0], "margaret");  // transposed
  EXPECT_EQ(ids(search("hamiltn", "users", ""), "username")[0], "margaret");   // dropped letter
  EXPECT_TRUE(search("zzyzx", "users", "")["items"].empty());
  auto one = search("marg", "users", "", "&limit=1");
  EXPECT_EQ(one["items"].size(), 1u);
  EXPECT_EQ(one["next_cursor"], "1");
}

TEST_P(search_api, reindex_rebuilds_the_index_from_users_and_photos) {
  auto photo = upload(alice_, "lighthouse #coast");
  wait_for("lighthouse", "photos", "", 1);
  // Media marks it ready from the same event.
  EXPECT_EQ(settled_photo(server_->port(), photo, alice_)["status"], "ready");
  // alice and bob were made by `pixhive admin create-user` while the server ran: an all-in-one
  // server's in-process bus never heard of them. Reindexing reads them from auth.
  std::vector<std::string> argv{pixhive_binary(),    "admin",       "reindex", "--data-dir",
                                server_->data_dir(), "--log-level", "warn"};
  argv.insert(argv.end(), server_->args().begin(), server_->args().end());
  child_process cli{argv};
  ASSERT_EQ(cli.wait_exit(), 0) << cli.output();
  EXPECT_NE(cli.output().find("reindexed 2 users and 1 photos"), std::string::npos) << cli.output();
  EXPECT_EQ(ids(search("ali", "users", ""), "username"), std::vector<std::string>{"alice"});
  EXPECT_EQ(ids(search("lighthouse", "photos", "")), std::vector<std::string>{photo});
  EXPECT_EQ(ids(search("coast", "tags", ""), "tag"), std::vector<std::string>{"coast"});
}

INSTANTIATE_TEST_SUITE_P(backends, search_api, ::testing::Values("sqlite", "postgres_redis"),
                         backend_name);
