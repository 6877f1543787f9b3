#include <atomic>
#include <mutex>

#include <gtest/gtest.h>

#include "pixhive/bus/bus.hpp"
#include "pixhive/bus/payload.hpp"
#include "pixhive/bus/redis_address.hpp"
#include "pixhive/contracts/events.hpp"

using namespace pixhive;

TEST(in_process_bus, every_group_gets_its_types_in_order) {
  auto bus = bus::make_in_process_bus();
  std::mutex mtx;
  std::vector<std::string> a, b;
  bus->subscribe("search", {"photo.uploaded", "photo.deleted"},
                 [&](const bus::event& e) -> result<void> {
                   std::lock_guard<std::mutex> g{mtx};
                   a.push_back(e.type + ":" + e.payload);
                   return caf::unit;
                 });
  bus->subscribe("feed", {"photo.uploaded"}, [&](const bus::event& e) -> result<void> {
    std::lock_guard<std::mutex> g{mtx};
    b.push_back(e.payload);
    return caf::unit;
  });
  ASSERT_TRUE(bus->publish("photo.uploaded", "1"));
  ASSERT_TRUE(bus->publish("user.created", "x"));
  ASSERT_TRUE(bus->publish("photo.deleted", "1"));
  ASSERT_TRUE(bus->publish("photo.uploaded", "2"));
  bus->stop();  // delivers what is queued first
  EXPECT_EQ(a,
            (std::vector<std::string>{"photo.uploaded:1", "photo.deleted:1", "photo.uploaded:2"}));
  EXPECT_EQ(b, (std::vector<std::string>{"1", "2"}));
  EXPECT_FALSE(bus->publish("photo.uploaded", "3"));
}

TEST(in_process_bus, failures_are_redelivered_then_dead_lettered) {
  auto bus = bus::make_in_process_bus(3);
  std::atomic<int> flaky_calls{0}, broken_calls{0};
  std::atomic<int> flaky_last_attempt{0};
  bus->subscribe("flaky", {"t"}, [&](const bus::event& e) -> result<void> {
    flaky_last_attempt = e.attempt;
    if (++flaky_calls < 2) return make_error(errc::unavailable, "down", "not yet");
    return caf::unit;
  });
  bus->subscribe("broken", {"t"}, [&](const bus::event&) -> result<void> {
    ++broken_calls;
    return make_error(errc::internal, "bug", "always fails");
  });
  ASSERT_TRUE(bus->publish("t", "{}"));
  bus->stop();
  EXPECT_EQ(flaky_calls, 2);
  EXPECT_EQ(flaky_last_attempt, 2);
  EXPECT_EQ(broken_calls, 3);
}

TEST(in_process_bus, a_group_that_subscribes_late_gets_what_was_published_before) {
  auto bus = bus::make_in_process_bus();
  ASSERT_TRUE(bus->publish("photo.uploaded", "early"));
  ASSERT_TRUE(bus->publish("user.created", "other"));
  std::mutex mtx;
  std::vector<std::string> seen;
  bus->subscribe("late", {"photo.uploaded"}, [&](const bus::event& e) -> result<void> {
    std::lock_guard<std::mutex> g{mtx};
    seen.push_back(e.payload);
    return caf::unit;
  });
  ASSERT_TRUE(bus->publish("photo.uploaded", "after"));
  bus->stop();
  EXPECT_EQ(seen, (std::vector<std::string>{"early", "after"}));
}

TEST(redis_address, urls_name_host_port_credentials_and_database) {
  auto a = bus::redis_address::parse("redis://cache.internal:6380/2");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->host, "cache.internal");
  EXPECT_EQ(a->port, 6380);
  EXPECT_EQ(a->db, 2);
  EXPECT_TRUE(a->password.empty());
  auto b = bus::redis_address::parse("redis://pixhive:p%40ss%3Aword@[::1]:7000");
  ASSERT_TRUE(b);
  EXPECT_EQ(b->user, "pixhive");
  EXPECT_EQ(b->password, "p@ss:word");
  EXPECT_EQ(b->host, "::1");
  EXPECT_EQ(b->port, 7000);
  EXPECT_EQ(b->describe(), "[::1]:7000");
  auto c = bus::redis_address::parse("redis://:secret@localhost");
  ASSERT_TRUE(c);
  EXPECT_EQ(c->port, 6379);
  EXPECT_EQ(c->password, "secret");
  EXPECT_TRUE(c->user.empty());
  for (auto bad : {"http://x", "redis://", "redis://host:0", "redis://host:99999", "redis://host:x",
                   "redis://host/db", "redis://user@host", "redis://:@host", "redis://[::1",
                   "redis://:%zz@host", "redis://:a%4@host"})
    EXPECT_FALSE(bus::redis_address::parse(bad)) << bad;
  auto tls = bus::redis_address::parse("rediss://host");
  ASSERT_FALSE(tls);
  EXPECT_NE(to_problem(tls.error()).message.find("stunnel"), std::string::npos);
}

namespace {

namespace events = contracts::events;

/// `x` as the bus carries it, and back: the same JSON text as `wire` (the payload the services
/// built by hand before events were structs, keys sorted as nlohmann writes them), and the same
/// struct again from it.
template <class T>
void same_on_the_wire(const T& x, const std::string& wire) {
  auto written = nlohmann::json(x);
  EXPECT_EQ(written.dump(), nlohmann::json::parse(wire).dump());
  EXPECT_EQ(written.get<T>(), x);
  auto read = bus::read<T>(wire);
  ASSERT_TRUE(read) << wire;
  EXPECT_EQ(*read, x);
}

}  // namespace

TEST(typed_events, every_event_keeps_its_json_keys_and_value_formats) {
  same_on_the_wire(contracts::user_changed{7, "alice", "Alice", false, 1700000000},
                   R"({"user_id":"7","username":"alice","display_name":"Alice","disabled":false,)"
                   R"("created_at":1700000000})");
  same_on_the_wire(contracts::photo_uploaded{9, 7, "image/jpeg", 640, 480, "originals/9"},
                   R"({"photo_id":"9","owner_id":"7","content_type":"image/jpeg","width":640,)"
                   R"("height":480,"blob_key":"originals/9"})");
  same_on_the_wire(contracts::photo_deleted{9, 7}, R"({"photo_id":"9","owner_id":"7"})");
  // Scores and confidences are floats of the classifier written as doubles; these are exact.
  same_on_the_wire(
      contracts::photo_processed{
          .photo_id = 9,
          .owner_id = 7,
          .tags = {"blue", "face"},
          .objects = {{"dog", 0.5, {1, 2, 30, 40}}},
          .faces = {{"face", 0.75, {5, 6, 7, 8}}, {"face", 0.25, {0, 0, 1, 1}}},
          .moderation = {"review", {0.125, 0.0625, 0.5, 0.0625, 0.25}},
          .text = "OPEN",
          .hash = "00ff00ff00ff00ff",
          .width = 640,
          .height = 480,
          .variants = {"thumb", "medium"}},
      R"({"photo_id":"9","owner_id":"7","tags":["blue","face"],)"
      R"("objects":[{"label":"dog","confidence":0.5,"box":[1,2,30,40]}],)"
      R"("faces":[{"label":"face","confidence":0.75,"box":[5,6,7,8]},)"
      R"({"label":"face","confidence":0.25,"box":[0,0,1,1]}],)"
      R"("moderation":{"verdict":"review","scores":{"drawing":0.125,"hentai":0.0625,)"
      R"("neutral":0.5,"porn":0.0625,"sexy":0.25}},)"
      R"("text":"OPEN","hash":"00ff00ff00ff00ff","width":640,"height":480,)"
      R"("variants":["thumb","medium"]})");
  same_on_the_wire(contracts::photo_failed{9, 7, "undecodable_image: x"},
                   R"({"photo_id":"9","owner_id":"7","reason":"undecodable_image: x"})");
  same_on_the_wire(contracts::job_requested{123456789012345678},
                   R"({"job_id":"123456789012345678"})");
  same_on_the_wire(contracts::follow_changed{8, "bob", 7, "alice"},
                   R"({"follower_id":"8","follower_username":"bob","followee_id":"7",)"
                   R"("followee_username":"alice"})");
  same_on_the_wire(contracts::like_changed{9, 7, 8, "bob"},
                   R"({"photo_id":"9","photo_owner_id":"7","user_id":"8","username":"bob"})");
  same_on_the_wire(contracts::comment_created{11, 9, 7, 8, "bob", "nice \"shot\""},
                   R"({"comment_id":"11","photo_id":"9","photo_owner_id":"7","author_id":"8",)"
                   R"("author_username":"bob","text":"nice \"shot\""})");
}

TEST(typed_events, every_event_type_names_its_payload) {
  std::vector<std::string> names{
      events::user_created.name,   events::user_updated.name,    events::photo_uploaded.name,
      events::photo_deleted.name,  events::photo_processed.name, events::photo_held.name,
      events::photo_failed.name,   events::job_requested.name,   events::follow_created.name,
      events::follow_deleted.name, events::like_created.name,    events::like_deleted.name,
      events::comment_created.name};
  EXPECT_EQ(names,
            (std::vector<std::string>{
                "user.created", "user.updated", "photo.uploaded", "photo.deleted",
                "photo.processed", "photo.held", "photo.failed", "job.requested", "follow.created",
                "follow.deleted", "like.created", "like.deleted", "comment.created"}));
  static_assert(std::is_same_v<decltype(events::photo_held)::payload, contracts::photo_processed>);
  static_assert(std::is_same_v<decltype(events::like_deleted)::payload, contracts::like_changed>);
}

TEST(typed_events, older_payloads_are_read_and_malformed_ones_are_refused) {
  // Ids as plain numbers and missing keys (an older writer): read, with the defaults.
  auto like = bus::read<contracts::like_changed>(R"({"photo_id":9,"photo_owner_id":"7"})");
  ASSERT_TRUE(like);
  EXPECT_EQ(*like, (contracts::like_changed{9, 7, 0, ""}));
  auto processed = bus::read<contracts::photo_processed>(R"({"photo_id":"9","extra":[1]})");
  ASSERT_TRUE(processed);
  EXPECT_EQ(processed->photo_id, 9);
  EXPECT_TRUE(processed->moderation.verdict.empty());
  // Not JSON, not an object, too deep, or a field of the wrong type: nothing, for the handler to
  // log and acknowledge.
  for (std::string bad :
       {std::string("not json"), std::string("[1,2]"), std::string(100000, '['),
        std::string(R"({"photo_id":"9x"})"), std::string(R"({"photo_id":true})"),
        std::string(R"({"username":5})"), std::string(R"({"photo_id":"9","user_id":null})")})
    EXPECT_FALSE(bus::read<contracts::like_changed>(bad)) << bad.substr(0, 40);
  EXPECT_FALSE(bus::read<contracts::photo_processed>(R"({"objects":{"label":"dog"}})"));
  EXPECT_FALSE(bus::read<contracts::photo_processed>(R"({"moderation":{"verdict":5}})"));
}

TEST(typed_events, a_published_event_arrives_under_its_type_and_reads_back) {
  auto bus = bus::make_in_process_bus();
  std::mutex mtx;
  std::vector<bus::event> got;
  bus->subscribe("graph", {"like.created", "like.deleted"},
                 [&](const bus::event& e) -> result<void> {
                   std::lock_guard<std::mutex> g{mtx};
                   got.push_back(e);
                   return caf::unit;
                 });
  contracts::like_changed like{9, 7, 8, "bob"};
  ASSERT_TRUE(bus->publish(events::like_created, like));
  ASSERT_TRUE(bus->publish(events::like_deleted, {9, 7, 8, "bob"}));
  bus->stop();
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].type, "like.created");
  EXPECT_EQ(got[1].type, "like.deleted");
  EXPECT_EQ(got[0].payload,
            R"({"photo_id":"9","photo_owner_id":"7","user_id":"8","username":"bob"})");
  EXPECT_EQ(bus::read<contracts::like_changed>(got[1]), like);
}
