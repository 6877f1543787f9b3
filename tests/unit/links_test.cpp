// Service links: target parsing, and a link that follows a replica in and out of existence.
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
