#include <filesystem>

#include <gtest/gtest.h>

#include "pixhive/store/sql.hpp"

using namespace pixhive;

namespace {

struct sqlite_db : ::testing::Test {
  std::string path = (std::filesystem::temp_directory_path() /
                      ("pixhive-sql-" + std::to_string(::getpid()) + "-" +
                       ::testing::UnitTest::GetInstance()->current_test_info()->name() + ".db"))
                         .string();
  void TearDown() override {
    for (auto suffix : {"", "-wal", "-shm"}) std::filesystem::remove(path + suffix);
  }
};

}  // namespace

TEST_F(sqlite_db, binds_and_reads_every_type) {
  auto db = store::database::open("sqlite:" + path);
  ASSERT_TRUE(db);
  ASSERT_TRUE((*db)->query("CREATE TABLE t (i BIGINT, d REAL, s TEXT, n TEXT)"));
  ASSERT_TRUE((*db)->query("INSERT INTO t VALUES (?, ?, ?, ?)",
                           {int64_t{1} << 40, 2.5, std::string("it's"), nullptr}));
  auto rows = (*db)->query("SELECT i, d, s, n FROM t WHERE s = ?", {std::string("it's")});
  ASSERT_TRUE(rows);
  ASSERT_EQ(rows->size(), 1u);
  EXPECT_EQ(rows->front().int_at(0), int64_t{1} << 40);
  EXPECT_DOUBLE_EQ(std::get<double>(rows->front().cols[1]), 2.5);
  EXPECT_EQ(rows->front().str_at(2), "it's");
  EXPECT_TRUE(rows->front().is_null(3));
}

TEST_F(sqlite_db, unique_violation_is_a_conflict) {
  auto db = store::database::open(path);
  ASSERT_TRUE(db);
  ASSERT_TRUE((*db)->query("CREATE TABLE u (name TEXT PRIMARY KEY)"));
  ASSERT_TRUE((*db)->query("INSERT INTO u VALUES (?)", {std::string("a")}));
  auto dup = (*db)->query("INSERT INTO u VALUES (?)", {std::string("a")});
  ASSERT_FALSE(dup);
  EXPECT_EQ(to_problem(dup.error()).kind, errc::conflict);
}

TEST_F(sqlite_db, failed_transaction_rolls_back) {
  auto db = store::database::open(path);
  ASSERT_TRUE(db);
  ASSERT_TRUE((*db)->query("CREATE TABLE u (name TEXT PRIMARY KEY)"));
  auto r = (*db)->transaction([](store::connection& c) -> result<void> {
    if (auto x = c.query("INSERT INTO u VALUES ('kept?')"); !x) return x.error();
    return make_error(errc::invalid_argument, "nope", "abort");
  });
  EXPECT_FALSE(r);
  auto rows = (*db)->query("SELECT COUNT(*) FROM u");
  ASSERT_TRUE(rows);
  EXPECT_EQ(rows->front().int_at(0), 0);
}

TEST_F(sqlite_db, migrations_apply_once_in_order) {
  auto db = store::database::open(path);
  ASSERT_TRUE(db);
  std::vector<store::migration> steps{{1, "CREATE TABLE a (x INTEGER);"},
                                      {2, "ALTER TABLE a ADD COLUMN y INTEGER;"}};
  ASSERT_TRUE(store::migrate(**db, "svc", steps));
  ASSERT_TRUE(store::migrate(**db, "svc", steps));
  auto rows =
      (*db)->query("SELECT version FROM schema_migrations WHERE service = 'svc' ORDER BY version");
  ASSERT_TRUE(rows);
  ASSERT_EQ(rows->size(), 2u);
  EXPECT_EQ((*rows)[1].int_at(0), 2);
  EXPECT_TRUE((*db)->query("INSERT INTO a (x, y) VALUES (1, 2)"));
}

TEST(sql, bad_urls_fail_with_a_message) {
  auto pg = store::database::open("postgresql://nobody@127.0.0.1:1/none");
  ASSERT_FALSE(pg);
  EXPECT_NE(to_problem(pg.error()).message.find("PostgreSQL"), std::string::npos);
  auto lite = store::database::open("sqlite:/nonexistent-dir/x/y.db");
  EXPECT_FALSE(lite);
}
