// `pixhive admin migrate` (the Helm chart's pre-install/pre-upgrade hook Job) against SQLite and
// PostgreSQL: every service's schema and outbox in one run, nothing left for a server to apply,
// and a second run a no-op.
#include <set>

#include <gtest/gtest.h>

#include "pixhive/store/sql.hpp"
#include "support.hpp"

using namespace pixhive;
using namespace pixhive::testing;

namespace {

class migrate : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    if (!stores_.start(GetParam())) PIXHIVE_SKIP_MISSING(stores_.why());
  }

  child_process run_migrate() {
    return child_process{{pixhive_binary(), "admin", "migrate", "--data-dir", stores_.dir(), "--db",
                          stores_.db_url(), "--log-level", "warn"}};
  }

  backends stores_;
};

TEST_P(migrate, applies_every_service_once_and_leaves_nothing_for_the_servers) {
  auto first = run_migrate();
  ASSERT_EQ(first.wait_exit(), 0) << first.output();
  for (const char* svc : {"auth", "media", "processing", "graph", "feed", "search"})
    EXPECT_NE(first.output().find(std::string("migrated ") + svc + "\n"), std::string::npos)
        << first.output();

  auto db = store::database::open(stores_.db_url(), 1);
  ASSERT_TRUE(db) << to_problem(db.error()).message;
  auto rows = (*db)->query("SELECT DISTINCT service FROM schema_migrations");
  ASSERT_TRUE(rows) << to_problem(rows.error()).message;
  std::set<std::string> services;
  for (const auto& r : *rows) services.insert(r.str_at(0));
  for (const char* svc : {"auth", "auth_outbox", "media", "media_outbox", "processing",
                          "processing_outbox", "graph", "graph_outbox", "feed", "search"})
    EXPECT_TRUE(services.count(svc)) << svc;
  auto count = [&] {
    auto n = (*db)->query("SELECT COUNT(*) FROM schema_migrations");
    return n && !n->empty() ? n->front().int_at(0) : -1;
  };
  auto applied = count();

  // Again: nothing to do, still success (the hook runs on every upgrade).
  auto second = run_migrate();
  ASSERT_EQ(second.wait_exit(), 0) << second.output();
  EXPECT_EQ(count(), applied);

  // A server on the migrated database starts without applying a step.
  pixhive_server server({"--db", stores_.db_url()}, "all", {}, stores_.dir());
  EXPECT_EQ(call(server.port(), bhttp::verb::get, "/healthz").status, 200);
  EXPECT_EQ(server.process().output().find("migration_applied"), std::string::npos)
      << server.process().output();
  EXPECT_EQ(count(), applied);
}

INSTANTIATE_TEST_SUITE_P(backends, migrate, ::testing::Values("sqlite", "postgres"), backend_name);

}  // namespace
