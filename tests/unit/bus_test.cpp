#include <atomic>
#include <mutex>

#include <gtest/gtest.h>

#include "pixhive/bus/bus.hpp"
#include "pixhive/bus/redis_address.hpp"

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
