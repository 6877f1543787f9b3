#include <algorithm>
#include <set>

#include <gtest/gtest.h>

#include "modules.hpp"

using namespace pixhive;

TEST(modules, all_in_one_runs_every_service_and_a_service_mode_runs_one) {
  EXPECT_EQ(app::modules_of("all").size(), 6u);
  auto one = app::modules_of("graph");
  ASSERT_EQ(one.size(), 1u);
  EXPECT_EQ(one.front()->name, "graph");
  EXPECT_TRUE(app::modules_of("nonsense").empty());
}

TEST(modules, every_dependency_starts_before_its_users_whatever_the_table_order) {
  auto all = app::modules_of("all");
  std::reverse(all.begin(), all.end());
  auto ordered = app::start_order(all);
  ASSERT_EQ(ordered.size(), 6u);
  std::set<std::string> started;
  for (auto* m : ordered) {
    for (auto& n : m->needs) EXPECT_TRUE(started.count(n)) << m->name << " before " << n;
    started.insert(m->name);
  }
}

TEST(modules, names_in_needs_and_wants_are_rows_of_the_table) {
  std::set<std::string> names;
  for (auto& m : app::service_table()) names.insert(m.name);
  for (auto& m : app::service_table()) {
    for (auto& n : m.needs) EXPECT_TRUE(names.count(n)) << m.name << " needs " << n;
    for (auto& n : m.wants) EXPECT_TRUE(names.count(n)) << m.name << " wants " << n;
  }
}

TEST(modules, the_database_pool_covers_every_worker_of_the_selected_services) {
  options opts;
  opts.add("data-dir", "/tmp/pixhive-modules-test", "");
  app::declare_options(opts);
  ASSERT_TRUE(opts.parse({"--graph-workers", "7", "--auth-workers", "3"}));
  auto cfg = app::configs::from(opts);
  ASSERT_TRUE(cfg) << to_problem(cfg.error()).message;
  auto graph = app::modules_of("graph").front();
  EXPECT_GE(graph->connections(*cfg), 7u);
  size_t all = 0;
  for (auto* m : app::modules_of("all")) all += m->connections(*cfg);
  EXPECT_GE(all, 7u + 3u + 2u + 2u + 2u + 2u);
}

TEST(modules, every_service_another_row_needs_can_be_linked_and_admin_commands_are_unique) {
  options opts;
  app::declare_link_options(opts);
  std::set<std::string> commands;
  for (auto& m : app::service_table()) {
    for (auto& n : m.needs) EXPECT_NO_THROW(opts.get(n + "-actor")) << n;
    for (auto& n : m.wants) EXPECT_NO_THROW(opts.get(n + "-actor")) << n;
    for (auto& c : m.commands) {
      EXPECT_TRUE(commands.insert(c.name).second) << c.name;
      EXPECT_TRUE(c.run) << c.name;
    }
  }
  EXPECT_TRUE(commands.count("create-user"));
  EXPECT_TRUE(commands.count("reindex"));
}
