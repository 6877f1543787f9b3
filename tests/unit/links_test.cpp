// Service links: target parsing, and a link that follows a replica in and out of existence.
#include <atomic>
#include <future>

#include <gtest/gtest.h>

#include <caf/all.hpp>
#include <caf/io/all.hpp>

#include "pixhive/links/link.hpp"
#include "support.hpp"

using namespace pixhive;
using namespace std::chrono_literals;

namespace {

using echo_actor = caf::typed_actor<caf::replies_to<int32_t>::with<int32_t>>;

// Takes an argument: CAF 0.17 dereferences a null argument tuple for argument-less spawns.
echo_actor::behavior_type echo(int32_t step) {
  return {[step](int32_t x) { return x + step; }};
}

}  // namespace

TEST(links, targets_are_host_port_lists) {
  auto one = links::parse_targets("media:7001", "media-actor");
  ASSERT_TRUE(one);
  EXPECT_EQ(one->size(), 1u);
  EXPECT_EQ((*one)[0].host, "media");
  EXPECT_EQ((*one)[0].port, 7001);
  auto list = links::parse_targets("10.0.0.1:7001,10.0.0.2:7002,[::1]:7003", "media-actor");
  ASSERT_TRUE(list);
  ASSERT_EQ(list->size(), 3u);
  EXPECT_EQ((*list)[2].host, "::1");
  for (auto bad : {"", "media", "media:", ":7001", "media:0", "media:70000", "media:7o01"})
    EXPECT_FALSE(links::parse_targets(bad, "media-actor")) << bad;
}

TEST(links, a_link_routes_to_live_replicas_and_fails_fast_without_one) {
  caf::actor_system_config cfg;
  cfg.load<caf::io::middleman>();
  cfg.set("logger.verbosity", caf::atom("quiet"));
  caf::actor_system sys{cfg};
  auto replica = sys.spawn(echo, int32_t{1});
  auto port = sys.middleman().publish(replica, 0, "127.0.0.1", true);
  ASSERT_TRUE(port);
  auto l = links::link::remote(
      sys, {"echo", "127.0.0.1:" + std::to_string(*port), "echo-actor", true, 1s, 1s});
  ASSERT_TRUE(l);
  ASSERT_TRUE(pixhive::testing::eventually([&] { return (*l)->state().connected == 1; }, 10s));
  EXPECT_TRUE((*l)->state().ready());
  auto handle = caf::actor_cast<echo_actor>((*l)->handle());
  caf::scoped_actor self{sys};
  int32_t got = 0;
  self->request(handle, 5s, int32_t{41}).receive([&](int32_t x) { got = x; }, [](caf::error&) {});
  EXPECT_EQ(got, 42);
  // The replica goes away: the link notices, and requests fail at once naming the dependency.
  self->send_exit(replica, caf::exit_reason::kill);
  ASSERT_TRUE(pixhive::testing::eventually([&] { return (*l)->state().connected == 0; }, 10s));
  EXPECT_FALSE((*l)->state().ready());
  std::string code;
  self->request(handle, 5s, int32_t{1})
      .receive([](int32_t) {}, [&](caf::error& e) { code = to_problem(e).code; });
  EXPECT_EQ(code, "service_unavailable");
  self->send_exit((*l)->handle(), caf::exit_reason::user_shutdown);
}

namespace {

/// A replica that answers x + step, except that it holds (never answers) the values `holds`
/// says, and counts them.
caf::behavior holding(caf::event_based_actor* self, int32_t step,
                      std::function<bool(int32_t)> holds, std::shared_ptr<std::atomic<int>> held) {
  auto kept = std::make_shared<std::vector<caf::response_promise>>();
  return {[=](int32_t x) -> caf::result<int32_t> {
    if (!holds(x)) return x + step;
    kept->push_back(self->make_response_promise());
    ++*held;
    return kept->back();
  }};
}

}  // namespace

TEST(links, busy_replicas_get_fewer_requests_and_a_lost_read_is_retried_on_another) {
  caf::actor_system_config cfg;
  cfg.load<caf::io::middleman>();
  cfg.set("logger.verbosity", caf::atom("quiet"));
  caf::actor_system sys{cfg};
  auto held_a = std::make_shared<std::atomic<int>>(0),
       held_b = std::make_shared<std::atomic<int>>(0);
  auto a = sys.spawn(holding, int32_t{0},
                     std::function<bool(int32_t)>([](int32_t) { return true; }), held_a);
  auto b = sys.spawn(holding, int32_t{100},
                     std::function<bool(int32_t)>([](int32_t x) { return x >= 1000; }), held_b);
  auto pa = sys.middleman().publish(a, 0, "127.0.0.1", true);
  auto pb = sys.middleman().publish(b, 0, "127.0.0.1", true);
  ASSERT_TRUE(pa && pb);
  links::link_config lc{
      "echo",       "127.0.0.1:" + std::to_string(*pa) + ",127.0.0.1:" + std::to_string(*pb),
      "echo-actor", true,
      1s,           1s};
  // Even numbers stand for reads.
  lc.idempotent = [](const caf::message& m) {
    return m.match_element<int32_t>(0) && m.get_as<int32_t>(0) % 2 == 0;
  };
  auto l = links::link::remote(sys, lc);
  ASSERT_TRUE(l);
  ASSERT_TRUE(pixhive::testing::eventually([&] { return (*l)->state().connected == 2; }, 10s));
  auto handle = caf::actor_cast<echo_actor>((*l)->handle());
  auto ask = [&](int32_t x) {
    return std::async(std::launch::async, [&, x]() -> std::string {
      caf::scoped_actor self{sys};
      std::string out;
      self->request(handle, 10s, x)
          .receive([&](int32_t y) { out = std::to_string(y); },
                   [&](caf::error& e) { out = to_problem(e).code; });
      return out;
    });
  };
  auto read = ask(2);  // to a, which holds it
  ASSERT_TRUE(pixhive::testing::eventually([&] { return *held_a == 1; }, 10s));
  auto parked = ask(1001);  // to b: a has a request outstanding, b none
  ASSERT_TRUE(pixhive::testing::eventually([&] { return *held_b == 1; }, 10s));
  EXPECT_EQ(*held_a, 1);
  auto write = ask(7);  // one each: round-robin goes on with a
  ASSERT_TRUE(pixhive::testing::eventually([&] { return *held_a == 2; }, 10s));
  // a dies with a read and a write unanswered: the read is answered by b, the write refused.
  caf::anon_send_exit(a, caf::exit_reason::kill);
  EXPECT_EQ(read.get(), "102");
  EXPECT_EQ(write.get(), "service_unavailable");
  caf::anon_send_exit(b, caf::exit_reason::kill);
  EXPECT_EQ(parked.get(), "service_unavailable");
  caf::anon_send_exit((*l)->handle(), caf::exit_reason::user_shutdown);
}
