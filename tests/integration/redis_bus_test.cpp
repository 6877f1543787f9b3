// The Redis Streams event bus against a real redis-server started by the fixture.
#include <condition_variable>
#include <csignal>
#include <functional>
#include <mutex>
#include <random>
#include <thread>

#include <gtest/gtest.h>

#include <hiredis/hiredis.h>

#include "pixhive/bus/redis_bus.hpp"
#include "support.hpp"

using namespace pixhive;
using namespace pixhive::testing;
using namespace std::chrono_literals;

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
    if (!stores_.start("redis")) PIXHIVE_SKIP_MISSING(stores_.why());
    redis_ = stores_.redis();
  }

  bus::redis_bus_config config(const std::string& consumer = "c1") {
    bus::redis_bus_config cfg;
    cfg.address.port = redis_->port();
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

  backends stores_;
  redis_server* redis_ = nullptr;
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

TEST_F(redis_bus, a_write_to_a_closed_socket_is_an_error_not_a_sigpipe) {
  // hiredis writes with write(2): a socket whose peer went away, or that stop() shut down while
  // the broadcast relay was still subscribing, fails with EPIPE, which must not kill the process.
  for (int i = 0; i < 20; ++i) {
    auto b = open();
    b->stop();
  }
  struct sigaction now {};
  ASSERT_EQ(sigaction(SIGPIPE, nullptr, &now), 0);
  EXPECT_EQ(now.sa_handler, SIG_IGN);
  auto b = open();
  redis_->stop();
  EXPECT_FALSE(b->publish("t", "to a dead Redis"));
  EXPECT_FALSE(b->publish("t", "again"));
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
  eventually([&] { return stream_length("pixhive:events:dead") >= 1; });
  EXPECT_EQ(stream_length("pixhive:events:dead"), 1);
  healthy->stop();
  EXPECT_EQ(broken.seen.size(), 3u);
}

TEST(redis_bus_config, an_unreachable_redis_is_a_clear_error) {
  bus::redis_bus_config cfg;
  cfg.address.port = 1;
  auto b = bus::make_redis_bus(cfg);
  ASSERT_FALSE(b);
  EXPECT_NE(to_problem(b.error()).message.find("cannot connect to Redis"), std::string::npos);
}

namespace {

/// Test-side view of the worker processes' Redis keys.
class job_board {
 public:
  explicit job_board(uint16_t port) : c_(redisConnect("127.0.0.1", port)) {}
  ~job_board() { redisFree(c_); }
  std::string get(const std::string& key) {
    auto* r = static_cast<redisReply*>(redisCommand(c_, "GET %s", key.c_str()));
    std::string v = r && r->type == REDIS_REPLY_STRING ? std::string(r->str, r->len) : "";
    freeReplyObject(r);
    return v;
  }
  long long number(const std::string& key) {
    auto v = get(key);
    return v.empty() ? 0 : std::stoll(v);
  }
  long long count(const std::string& pattern) {
    long long n = 0;
    std::string cursor = "0";
    do {
      auto* r = static_cast<redisReply*>(
          redisCommand(c_, "SCAN %s MATCH %s COUNT 1000", cursor.c_str(), pattern.c_str()));
      cursor = std::string(r->element[0]->str, r->element[0]->len);
      n += static_cast<long long>(r->element[1]->elements);
      freeReplyObject(r);
    } while (cursor != "0");
    return n;
  }
  void set(const std::string& key, const std::string& value) {
    freeReplyObject(redisCommand(c_, "SET %s %s", key.c_str(), value.c_str()));
  }

 private:
  redisContext* c_;
};

std::unique_ptr<child_process> start_worker(uint16_t port, const std::string& name,
                                            int concurrency = 2, int claim_ms = 300,
                                            int max_attempts = 3) {
  auto w = std::make_unique<child_process>(
      std::vector<std::string>{BUS_WORKER, std::to_string(port), name, std::to_string(concurrency),
                               std::to_string(claim_ms), std::to_string(max_attempts)});
  EXPECT_TRUE(w->wait_for_line(
      [](const std::string& l) { return l.find("bus_worker ready") != std::string::npos; }));
  return w;
}

}  // namespace

TEST_F(redis_bus, broadcasts_reach_listeners_in_other_processes) {
  auto a = open("a"), b = open("b");
  inbox got;
  auto keep = b->listen("job:7", [&](const std::string& m) { got.add(bus::event{0, "", m}); });
  // The listener's subscription is asynchronous: repeat until one arrives.
  ASSERT_TRUE(eventually(
      [&] {
        a->broadcast("job:7", "started");
        return got.wait_for(1, std::chrono::seconds(0));
      },
      std::chrono::seconds(10)));
  EXPECT_EQ(got.payloads().front(), "started");
  keep.reset();
  size_t before = got.payloads().size();
  a->broadcast("job:7", "after");
  a->broadcast("job:8", "other topic");
  EXPECT_FALSE(got.wait_for(before + 1, std::chrono::seconds(1)));
}

TEST_F(redis_bus, a_job_of_a_killed_worker_is_finished_by_another) {
  job_board board{redis_->port()};
  auto first = start_worker(redis_->port(), "first");
  auto producer = open("producer");
  // A job that works until the test releases it (work -1): the kill always meets it mid-job,
  // however slow the machine.
  ASSERT_TRUE(producer->publish("job.requested", "long -1 0"));
  ASSERT_TRUE(eventually([&] { return board.get("test:started:long") == "first"; }, 60s));
  first->signal(SIGKILL);
  first->wait_exit();
  EXPECT_EQ(board.get("test:done:long"), "");
  board.set("test:release:long", "1");
  auto second = start_worker(redis_->port(), "second");
  ASSERT_TRUE(eventually([&] { return !board.get("test:done:long").empty(); }, 60s));
  EXPECT_EQ(board.get("test:done:long").rfind("second", 0), 0u);
  EXPECT_EQ(board.number("test:effects"), 1);
  producer->stop();
}

TEST_F(redis_bus, a_job_that_always_fails_is_failed_after_n_attempts_and_dead_lettered) {
  job_board board{redis_->port()};
  auto worker = start_worker(redis_->port(), "w", 2, 100, 3);
  auto producer = open("producer");
  ASSERT_TRUE(producer->publish("job.requested", "poison 0 1"));
  ASSERT_TRUE(eventually([&] { return stream_length("pixhive:events:dead") == 1; }, 60s));
  EXPECT_EQ(board.number("test:attempts:poison"), 3);
  EXPECT_FALSE(board.get("test:failed:poison").empty());
  EXPECT_EQ(board.number("test:runs"), 3);
  producer->stop();
}

TEST_F(redis_bus, no_job_is_lost_or_done_twice_across_random_worker_kills) {
  constexpr int jobs = 1000;
  job_board board{redis_->port()};
  std::vector<std::unique_ptr<child_process>> workers;
  int generation = 0;
  for (int i = 0; i < 3; ++i)
    workers.push_back(start_worker(redis_->port(), "w" + std::to_string(generation++)));
  auto producer = open("producer");
  std::mt19937 rng{12345};
  for (int i = 0; i < jobs; ++i)
    ASSERT_TRUE(producer->publish(
        "job.requested", "j" + std::to_string(i) + " " + std::to_string(rng() % 4) + " 0"));
  int kills = 0;
  // Kill a random worker (SIGKILL, mid-job) after every 80 jobs that took effect, then start a
  // fresh one: ten kills, whatever the speed of the machine.
  for (long long step = 80; step <= 800; step += 80) {
    ASSERT_TRUE(eventually([&] { return board.number("test:effects") >= step; }, 60s));
    auto& victim = workers[rng() % workers.size()];
    victim->signal(SIGKILL);
    victim->wait_exit();
    victim = start_worker(redis_->port(), "w" + std::to_string(generation++));
    ++kills;
  }
  ASSERT_TRUE(eventually([&] { return board.number("test:effects") >= jobs; }, 120s))
      << board.number("test:effects") << " of " << jobs << " jobs took effect";
  EXPECT_EQ(board.count("test:done:*"), jobs);
  EXPECT_EQ(board.number("test:effects"), jobs);
  // Killed workers' jobs ran again: more runs than effects shows redelivery was exercised.
  EXPECT_GT(board.number("test:runs"), jobs);
  std::cerr << "1000 jobs, " << kills << " kills, " << board.number("test:runs") << " runs\n";
  producer->stop();
}
