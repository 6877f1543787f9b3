// The Redis Streams event bus against a real redis-server started by the fixture.
#include <condition_variable>
#include <mutex>

#include <gtest/gtest.h>

#include <hiredis/hiredis.h>

#include "pixhive/bus/redis_bus.hpp"
#include "support.hpp"

using namespace pixhive;
using namespace pixhive::testing;

namespace {

/// Collects what a handler saw, and lets the test wait for it without sleeping blindly.
struct inbox {
  std::mutex mtx;
  std::condition_variable cv;
  std::vector<bus::event> seen;

  void add(const bus::event& e) {
    std::lock_guard<std::mutex> g{mtx};
    seen.push_back(e);
    cv.notify_all();
  }
  bool wait_for(size_t n, std::chrono::seconds timeout = std::chrono::seconds(20)) {
    std::unique_lock<std::mutex> lock{mtx};
    return cv.wait_for(lock, timeout, [&] { return seen.size() >= n; });
  }
  std::vector<std::string> payloads() {
    std::lock_guard<std::mutex> g{mtx};
    std::vector<std::string> out;
    for (auto& e : seen) out.push_back(e.payload);
    return out;
  }
};

class redis_bus : public ::testing::Test {
 protected:
  void SetUp() override {
    redis_ = std::make_unique<redis_server>();
    if (!redis_->available()) GTEST_SKIP() << "skipping Redis test: " << redis_->why();
  }

  bus::redis_bus_config config(const std::string& consumer = "c1") {
    bus::redis_bus_config cfg;
    cfg.port = redis_->port();
    cfg.consumer = consumer;
    cfg.claim_after = std::chrono::milliseconds(100);
    cfg.block = std::chrono::milliseconds(100);
    cfg.max_attempts = 3;
    return cfg;
  }

  std::unique_ptr<bus::event_bus> open(const std::string& consumer = "c1") {
    auto b = bus::make_redis_bus(config(consumer));
    EXPECT_TRUE(b) << to_problem(b.error()).message;
    return std::move(*b);
  }

  long long stream_length(const std::string& key) {
    redisContext* c = redisConnect("127.0.0.1", redis_->port());
    auto* r = static_cast<redisReply*>(redisCommand(c, "XLEN %s", key.c_str()));
    long long n = r ? r->integer : -1;
    freeReplyObject(r);
    redisFree(c);
    return n;
  }

  std::unique_ptr<redis_server> redis_;
};

}  // namespace

TEST_F(redis_bus, groups_get_their_types_in_order) {
  auto b = open();
  inbox search, feed;
  b->subscribe("search", {"photo.uploaded", "photo.deleted"},
               [&](const bus::event& e) -> result<void> {
                 search.add(e);
                 return caf::unit;
               });
  b->subscribe("feed", {"photo.uploaded"}, [&](const bus::event& e) -> result<void> {
    feed.add(e);
    return caf::unit;
  });
  ASSERT_TRUE(b->publish("photo.uploaded", "1"));
  ASSERT_TRUE(b->publish("user.created", "x"));
  ASSERT_TRUE(b->publish("photo.deleted", "1"));
  ASSERT_TRUE(b->publish("photo.uploaded", "2"));
  ASSERT_TRUE(search.wait_for(3));
  ASSERT_TRUE(feed.wait_for(2));
  EXPECT_EQ(search.payloads(), (std::vector<std::string>{"1", "1", "2"}));
  EXPECT_EQ(feed.payloads(), (std::vector<std::string>{"1", "2"}));
  EXPECT_EQ(search.seen[1].type, "photo.deleted");
  EXPECT_GT(search.seen[0].id, 0);
  b->stop();
}

TEST_F(redis_bus, nothing_is_lost_while_a_consumer_is_down) {
  {
    auto first = open();
    inbox got;
    first->subscribe("feed", {"t"}, [&](const bus::event& e) -> result<void> {
      got.add(e);
      return caf::unit;
    });
    ASSERT_TRUE(first->publish("t", "before"));
    ASSERT_TRUE(got.wait_for(1));
    first->stop();
  }
  // Published while no consumer of the group runs.
  auto publisher = open("publisher");
  ASSERT_TRUE(publisher->publish("t", "while-down-1"));
  ASSERT_TRUE(publisher->publish("t", "while-down-2"));
  auto second = open("c2");
  inbox got;
  second->subscribe("feed", {"t"}, [&](const bus::event& e) -> result<void> {
    got.add(e);
    return caf::unit;
  });
  ASSERT_TRUE(got.wait_for(2));
  EXPECT_EQ(got.payloads(), (std::vector<std::string>{"while-down-1", "while-down-2"}));
  second->stop();
}

TEST_F(redis_bus, failed_events_are_claimed_again_then_dead_lettered) {
  // A consumer that fails an event and goes away: another consumer claims it (XAUTOCLAIM).
  {
    auto crashing = open("crashing");
    inbox tried;
    crashing->subscribe("worker", {"job"}, [&](const bus::event& e) -> result<void> {
      tried.add(e);
      return make_error(errc::unavailable, "crash", "simulated crash before the ack");
    });
    ASSERT_TRUE(crashing->publish("job", "recoverable"));
    ASSERT_TRUE(tried.wait_for(1));
    crashing->stop();
  }
  auto healthy = open("healthy");
  inbox done, broken;
  healthy->subscribe("worker", {"job"}, [&](const bus::event& e) -> result<void> {
    done.add(e);
    return caf::unit;
  });
  ASSERT_TRUE(done.wait_for(1));
  EXPECT_EQ(done.seen[0].payload, "recoverable");
  EXPECT_GE(done.seen[0].attempt, 2);

  healthy->subscribe("always-fails", {"poison"}, [&](const bus::event& e) -> result<void> {
    broken.add(e);
    return make_error(errc::internal, "bug", "cannot handle this");
  });
  ASSERT_TRUE(healthy->publish("poison", "bad"));
  ASSERT_TRUE(broken.wait_for(3));
  // After the third attempt it goes to the dead-letter stream instead of coming back.
  for (int i = 0; i < 200 && stream_length("pixhive:events:dead") < 1; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_EQ(stream_length("pixhive:events:dead"), 1);
  healthy->stop();
  EXPECT_EQ(broken.seen.size(), 3u);
}

TEST(redis_bus_config, an_unreachable_redis_is_a_clear_error) {
  bus::redis_bus_config cfg;
  cfg.port = 1;
  auto b = bus::make_redis_bus(cfg);
  ASSERT_FALSE(b);
  EXPECT_NE(to_problem(b.error()).message.find("cannot connect to Redis"), std::string::npos);
}
