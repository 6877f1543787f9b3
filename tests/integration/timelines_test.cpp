// The home-timeline store, one interface, three real backends: SQLite, PostgreSQL (the SQL store)
// and Redis (sorted sets), with a cap of 3 so that trimming is visible.
#include <gtest/gtest.h>

#include "pixhive/feed/feed.hpp"
#include "support.hpp"

using namespace pixhive;
using namespace pixhive::testing;

namespace {

using ids = std::vector<int64_t>;

class timelines : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    if (!stores_.start(GetParam())) PIXHIVE_SKIP_MISSING(stores_.why());
    if (stores_.redis()) {
      bus::redis_address at;
      at.port = stores_.redis()->port();
      auto r = feed::make_redis_timelines(at, 3);
      ASSERT_TRUE(r) << to_problem(r.error()).message;
      store_ = std::move(*r);
      return;
    }
    auto db = store::database::open(stores_.db_url(), 2);
    ASSERT_TRUE(db);
    ASSERT_TRUE(feed::migrate(**db));
    store_ = feed::make_sql_timelines(*db, 3);
  }
  ids page(int64_t user, int64_t before = 0, int limit = 10) {
    auto p = store_->page(user, before, limit);
    EXPECT_TRUE(p);
    return p ? *p : ids{};
  }

  backends stores_;
  std::unique_ptr<feed::timeline_store> store_;
};

}  // namespace

TEST_P(timelines, only_existing_timelines_are_written_and_each_keeps_its_newest) {
  EXPECT_FALSE(*store_->exists(1));
  ASSERT_TRUE(store_->add({1, 2}, {10}));
  EXPECT_FALSE(*store_->exists(1));  // a missing timeline is rebuilt, never half-filled
  ASSERT_TRUE(store_->rebuild(1, {}));
  EXPECT_TRUE(*store_->exists(1));  // empty, but there
  EXPECT_TRUE(page(1).empty());

  ASSERT_TRUE(store_->rebuild(2, {5, 9, 7, 8, 6}));
  EXPECT_EQ(page(2), (ids{9, 8, 7}));  // newest 3 of 5
  ASSERT_TRUE(store_->add({1, 2, 3}, {10}));
  EXPECT_EQ(page(1), (ids{10}));
  EXPECT_EQ(page(2), (ids{10, 9, 8}));
  EXPECT_FALSE(*store_->exists(3));
  ASSERT_TRUE(store_->add({2}, {10, 4, 11}));  // again, older and newer at once
  EXPECT_EQ(page(2), (ids{11, 10, 9}));
  EXPECT_EQ(page(2, 11, 2), (ids{10, 9}));
  EXPECT_EQ(page(2, 10, 5), (ids{9}));

  ASSERT_TRUE(store_->remove({1, 2}, {10}));
  EXPECT_TRUE(page(1).empty());
  EXPECT_EQ(page(2), (ids{11, 9}));
  EXPECT_TRUE(*store_->exists(1));
}

TEST_P(timelines, ids_keep_their_order_across_63_bits) {
  // Close 63-bit ids (one apart) would collide as doubles; the order must still be exact.
  int64_t base = int64_t{1} << 60;
  ASSERT_TRUE(store_->rebuild(7, {base + 1, base + 3, base + 2}));
  EXPECT_EQ(page(7), (ids{base + 3, base + 2, base + 1}));
  EXPECT_EQ(page(7, base + 3, 10), (ids{base + 2, base + 1}));
}

INSTANTIATE_TEST_SUITE_P(backends, timelines, ::testing::Values("sqlite", "postgres", "redis"),
                         backend_name);
