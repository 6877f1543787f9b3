// Every event handler can run twice on the same event with no visible change.
#include <filesystem>
#include <mutex>

#include <gtest/gtest.h>
#include <unistd.h>
#include <caf/all.hpp>

#include "feed_logic.hpp"
#include "graph_logic.hpp"
#include "media_logic.hpp"
#include "pixhive/bus/payload.hpp"
#include "pixhive/contracts/all.hpp"
#include "pixhive/contracts/events.hpp"
#include "pixhive/core/ids.hpp"
#include "search_logic.hpp"
#include "support.hpp"

using namespace pixhive;
namespace fs = std::filesystem;

namespace {

struct temp_db {
  fs::path dir = fs::temp_directory_path() /
                 ("pixhive-idem-" + std::to_string(::getpid()) + "-" + std::to_string(next_id()));
  std::shared_ptr<store::database> db;
  temp_db() {
    fs::create_directories(dir);
    db = *store::database::open("sqlite:" + (dir / "db").string());
  }
  ~temp_db() { fs::remove_all(dir); }
};

/// Photo 9 of alice (user 7), public, as media stores it.
result<store::rows> insert_photo(store::database& db, const std::string& caption,
                                 const std::string& hashtags, const std::string& status) {
  return db.query(
      "INSERT INTO photos (id, owner_id, owner_username, caption, hashtags, photo_key, visibility, "
      "content_type, size, width, height, sha256, status, created_at, blob_key) VALUES "
      "(9, 7, 'alice', ?, ?, NULL, 'public', 'image/jpeg', 1, 4, 3, 'x', ?, 1, 'k')",
      {caption, hashtags, status});
}

caf::actor_system_config& quiet_config(caf::actor_system_config& cfg) {
  contracts::add_all_types(cfg);
  cfg.set("logger.verbosity", caf::atom("quiet"));
  return cfg;
}

/// A real media service over a temp database with an in-process bus, for handlers that ask it
/// what is true now. Every actor in `actors` is stopped on the way out, also after a failed
/// ASSERT, so the actor system never waits for it.
struct media_world {
  temp_db t;
  caf::actor_system_config cfg;
  caf::actor_system sys{quiet_config(cfg)};
  std::shared_ptr<bus::event_bus> events{bus::make_in_process_bus()};
  contracts::media_actor media;
  std::vector<caf::actor> actors;
  media_world() {
    EXPECT_TRUE(media::migrate(*t.db));
    std::shared_ptr<store::blob_store> blobs =
        std::move(*store::open_folder_store((t.dir / "blobs").string()));
    media = media::spawn(sys, t.db, blobs, events, media::media_config{});
    actors.push_back(caf::actor_cast<caf::actor>(media));
  }
  ~media_world() {
    events->stop();
    for (auto& a : actors) caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
  }
};

}  // namespace

TEST(event_idempotence, graph_notifications) {
  temp_db t;
  ASSERT_TRUE(graph::migrate(*t.db));
  caf::actor_system_config cfg;
  cfg.set("logger.verbosity", caf::atom("quiet"));
  caf::actor_system sys{cfg};
  std::shared_ptr<bus::event_bus> events = bus::make_in_process_bus();
  graph::logic impl{sys, t.db, events, contracts::auth_actor{}, contracts::media_actor{}};
  bus::event like{42, "like.created",
                  R"({"photo_id":"9","photo_owner_id":"7","user_id":"8","username":"bob"})", 100};
  bus::event ready{43, "photo.processed", R"({"photo_id":"9","owner_id":"7","tags":["blue"]})",
                   101};
  bus::event ready_again = ready;
  ready_again.id = 44;  // processed again after a restart: a new event about the same photo
  for (const auto* e : {&like, &like, &ready, &ready, &ready_again})
    ASSERT_TRUE(impl.apply_event(*e));
  auto page =
      impl.handle(contracts::notifications_request{contracts::viewer{7, "alice", false}, 0, 20});
  ASSERT_TRUE(page);
  ASSERT_EQ(page->items.size(), 2u);
  EXPECT_EQ(page->unread, 2);
  // One's own like makes no notification.
  ASSERT_TRUE(impl.apply_event(
      {45, "like.created", R"({"photo_id":"9","photo_owner_id":"7","user_id":"7"})", 102}));
  EXPECT_EQ(
      impl.handle(contracts::notifications_request{contracts::viewer{7, "alice", false}, 0, 20})
          ->items.size(),
      2u);
  events->stop();
}

TEST(event_idempotence, graph_notifications_of_comments_failures_and_bad_payloads) {
  temp_db t;
  ASSERT_TRUE(graph::migrate(*t.db));
  caf::actor_system_config cfg;
  cfg.set("logger.verbosity", caf::atom("quiet"));
  caf::actor_system sys{cfg};
  std::shared_ptr<bus::event_bus> events = bus::make_in_process_bus();
  graph::logic impl{sys, t.db, events, contracts::auth_actor{}, contracts::media_actor{}};
  bus::event comment{50, "comment.created",
                     R"({"comment_id":"11","photo_id":"9","photo_owner_id":"7","author_id":"8",)"
                     R"("author_username":"bob","text":"nice"})",
                     100};
  bus::event failed{51, "photo.failed",
                    R"({"photo_id":"10","owner_id":"7","reason":"undecodable_image: x"})", 101};
  // Malformed payloads are logged and acknowledged (no error, so no redelivery), and change
  // nothing.
  bus::event bad_id{52, "like.created", R"({"photo_id":"9","photo_owner_id":"seven"})", 102};
  bus::event not_json{53, "comment.created", "{", 103};
  for (const auto* e : {&comment, &comment, &failed, &failed, &bad_id, &not_json})
    ASSERT_TRUE(impl.apply_event(*e)) << e->type;
  auto page =
      impl.handle(contracts::notifications_request{contracts::viewer{7, "alice", false}, 0, 20});
  ASSERT_TRUE(page);
  ASSERT_EQ(page->items.size(), 2u);
  const auto& f = page->items[0].kind == "photo_failed" ? page->items[0] : page->items[1];
  const auto& c = page->items[0].kind == "comment" ? page->items[0] : page->items[1];
  EXPECT_EQ(f.kind, "photo_failed");
  EXPECT_EQ(f.photo_id, 10);
  EXPECT_EQ(f.text, "undecodable_image: x");
  EXPECT_EQ(c.kind, "comment");
  EXPECT_EQ(c.actor_id, 8);
  EXPECT_EQ(c.actor_username, "bob");
  EXPECT_EQ(c.comment_id, 11);
  EXPECT_EQ(c.text, "nice");
  events->stop();
}

TEST(event_idempotence, media_holds_a_photo_and_its_approval_announces_it_processed) {
  temp_db t;
  ASSERT_TRUE(media::migrate(*t.db));
  std::shared_ptr<store::blob_store> blobs =
      std::move(*store::open_folder_store((t.dir / "blobs").string()));
  std::shared_ptr<bus::event_bus> events = bus::make_in_process_bus();
  std::mutex mtx;
  std::vector<bus::event> announced;
  events->subscribe("feed", {"photo.processed"}, [&](const bus::event& e) -> result<void> {
    std::lock_guard<std::mutex> g{mtx};
    announced.push_back(e);
    return caf::unit;
  });
  media::logic impl{t.db, blobs, events, media::media_config{}};
  ASSERT_TRUE(insert_photo(*t.db, "", "", "processing"));
  contracts::photo_processed held{.photo_id = 9,
                                  .owner_id = 7,
                                  .tags = {"skin"},
                                  .objects = {{"person", 0.875, {1, 2, 3, 4}}},
                                  .faces = {},
                                  .moderation = {"held", {0.0, 0.25, 0.0, 0.75, 0.0}},
                                  .text = "",
                                  .hash = "00ff00ff00ff00ff",
                                  .width = 3,
                                  .height = 4,
                                  .variants = {"thumb"}};
  bus::event e{1, "photo.held", nlohmann::json(held).dump(), 1};
  contracts::viewer admin{1, "root", true};
  ASSERT_TRUE(impl.apply_event(e));
  ASSERT_TRUE(impl.apply_event(e));
  auto p = impl.handle(contracts::get_photo_request{9, admin});
  ASSERT_TRUE(p);
  EXPECT_EQ(p->status, "held");
  EXPECT_EQ(p->status_reason, "held for review: the picture may be explicit (score 1.00)");
  auto queue = impl.handle(contracts::moderation_queue_request{"pending", 0, 20, admin});
  ASSERT_TRUE(queue);
  ASSERT_EQ(queue->items.size(), 1u);
  EXPECT_EQ(queue->items[0].porn, 0.75);
  ASSERT_TRUE(impl.handle(contracts::moderation_decision_request{9, "approve", admin}));
  ASSERT_TRUE(pixhive::testing::eventually([&] {
    std::lock_guard<std::mutex> g{mtx};
    return !announced.empty();
  }));
  events->stop();
  std::lock_guard<std::mutex> g{mtx};
  ASSERT_EQ(announced.size(), 1u);
  auto released = bus::read<contracts::photo_processed>(announced[0]);
  ASSERT_TRUE(released);
  auto expected = held;
  expected.moderation.verdict = "approved";
  EXPECT_EQ(*released, expected);
}

TEST(event_idempotence, media_processed_and_failed) {
  temp_db t;
  ASSERT_TRUE(media::migrate(*t.db));
  std::shared_ptr<store::blob_store> blobs =
      std::move(*store::open_folder_store((t.dir / "blobs").string()));
  std::shared_ptr<bus::event_bus> events = bus::make_in_process_bus();
  media::logic impl{t.db, blobs, events, media::media_config{}};
  ASSERT_TRUE(insert_photo(*t.db, "", "", "processing"));
  bus::event processed{1, "photo.processed",
                       R"({"photo_id":"9","tags":["blue","face"],"text":"HI",)"
                       R"("hash":"00ff00ff00ff00ff","width":3,"height":4})",
                       1};
  contracts::viewer alice{7, "alice", false};
  ASSERT_TRUE(impl.apply_event(processed));
  auto once = impl.handle(contracts::get_photo_request{9, alice});
  ASSERT_TRUE(impl.apply_event(processed));
  auto twice = impl.handle(contracts::get_photo_request{9, alice});
  ASSERT_TRUE(once && twice);
  EXPECT_EQ(*once, *twice);
  EXPECT_EQ(once->status, "ready");
  EXPECT_EQ(once->auto_tags, (std::vector<std::string>{"blue", "face"}));
  EXPECT_EQ(once->width, 3);
  bus::event failed{2, "photo.failed", R"({"photo_id":"9","reason":"undecodable_image: x"})", 2};
  ASSERT_TRUE(impl.apply_event(failed));
  ASSERT_TRUE(impl.apply_event(failed));
  auto f = impl.handle(contracts::get_photo_request{9, alice});
  EXPECT_EQ(f->status, "failed");
  EXPECT_EQ(f->status_reason, "undecodable_image: x");
  events->stop();
}

TEST(event_idempotence, feed_timelines) {
  // The feed asks media and graph what is true now: real services over the same database.
  media_world w;
  auto& t = w.t;
  ASSERT_TRUE(graph::migrate(*t.db));
  ASSERT_TRUE(feed::migrate(*t.db));
  auto graph =
      graph::spawn(w.sys, t.db, w.events, contracts::auth_actor{}, w.media, graph::graph_config{});
  w.actors.push_back(caf::actor_cast<caf::actor>(graph));
  ASSERT_TRUE(insert_photo(*t.db, "", "", "ready"));
  auto follow = [&] {
    return t.db->query(
        "INSERT INTO follows (id, follower_id, follower_username, followee_id, followee_username, "
        "created_at) VALUES (1, 8, 'bob', 7, 'alice', 1)");
  };
  ASSERT_TRUE(follow());
  std::shared_ptr<feed::timeline_store> timelines = feed::make_sql_timelines(t.db, 800);
  feed::logic impl{w.sys, t.db, timelines, {w.media, {}, graph}, feed::feed_config{}};
  ASSERT_TRUE(timelines->rebuild(8, {}));  // bob has read his feed before
  auto bobs = [&] { return *timelines->page(8, 0, 10); };
  auto posts = [&] { return t.db->query("SELECT photo_id FROM feed_posts")->size(); };
  auto twice = [&](const bus::event& e) {
    ASSERT_TRUE(impl.apply_event(e));
    auto first = std::make_pair(bobs(), posts());
    ASSERT_TRUE(impl.apply_event(e));
    EXPECT_EQ(std::make_pair(bobs(), posts()), first) << e.type;
  };

  twice({1, "photo.processed", R"({"photo_id":"9","owner_id":"7"})", 1});
  EXPECT_EQ(bobs(), std::vector<int64_t>{9});
  EXPECT_EQ(posts(), 1u);
  ASSERT_TRUE(t.db->query("DELETE FROM follows"));
  twice({2, "follow.deleted", R"({"follower_id":"8","followee_id":"7"})", 2});
  EXPECT_TRUE(bobs().empty());
  ASSERT_TRUE(follow());
  twice({3, "follow.created", R"({"follower_id":"8","followee_id":"7"})", 3});
  EXPECT_EQ(bobs(), std::vector<int64_t>{9});
  ASSERT_TRUE(t.db->query("DELETE FROM photos"));
  twice({4, "photo.deleted", R"({"photo_id":"9","owner_id":"7"})", 4});
  EXPECT_TRUE(bobs().empty());
  EXPECT_EQ(posts(), 0u);
}

TEST(event_idempotence, search_index) {
  media_world w;
  auto& t = w.t;
  ASSERT_TRUE(search::migrate(*t.db));
  ASSERT_TRUE(insert_photo(*t.db, "at the #beach", "beach", "ready"));
  search::logic impl{w.sys, t.db, {w.media, {}, {}}};
  // Everything the index holds, as rows of text.
  auto index = [&] {
    std::vector<std::string> out;
    for (const char* sql : {"SELECT user_id, username, display_name FROM search_users",
                            "SELECT photo_id, body, public FROM search_photos",
                            "SELECT photo_id, tag, public FROM search_photo_tags ORDER BY tag",
                            "SELECT rowid, name, '' FROM search_users_fts",
                            "SELECT rowid, body, vis FROM search_photos_fts"})
      for (auto rows = *t.db->query(sql); auto& r : rows)
        out.push_back(std::to_string(r.int_at(0)) + "|" + r.str_at(1) + "|" + r.str_at(2));
    return out;
  };
  auto twice = [&](const bus::event& e) {
    ASSERT_TRUE(impl.apply_event(e));
    auto first = index();
    ASSERT_TRUE(impl.apply_event(e));
    EXPECT_EQ(index(), first) << e.type;
  };
  twice({1, "user.created", R"({"user_id":"7","username":"alice","display_name":"Alice"})", 1});
  twice({2, "user.updated", R"({"user_id":"7","username":"alice","display_name":"Al"})", 2});
  twice({3, "photo.processed", R"({"photo_id":"9","owner_id":"7","tags":["blue"],"text":"OPEN"})",
         3});
  auto found =
      impl.handle(contracts::search_request{contracts::viewer{}, "open beach", "photos", 0, 20});
  ASSERT_TRUE(found);
  EXPECT_EQ(found->photos.size(), 1u);  // caption word and OCR text
  EXPECT_EQ(index().size(), 6u);        // user, photo, 2 tags, 2 FTS rows
  twice({4, "photo.deleted", R"({"photo_id":"9","owner_id":"7"})", 4});
  EXPECT_EQ(index().size(), 2u);  // the user and its FTS row
}
