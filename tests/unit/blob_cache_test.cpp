#include <gtest/gtest.h>

#include "pixhive/store/blob_cache.hpp"

using namespace pixhive::store;

TEST(blob_cache, lru_evicts_the_least_recently_used) {
  blob_cache cache{30, cache_policy::lru};
  cache.put("a", std::string(10, 'a'));
  cache.put("b", std::string(10, 'b'));
  cache.put("c", std::string(10, 'c'));
  ASSERT_TRUE(cache.get("a"));  // a is now the most recent; b is the oldest
  cache.put("d", std::string(10, 'd'));
  EXPECT_FALSE(cache.get("b"));
  EXPECT_EQ(*cache.get("a"), std::string(10, 'a'));
  EXPECT_TRUE(cache.get("c"));
  EXPECT_TRUE(cache.get("d"));
  auto s = cache.snapshot();
  EXPECT_EQ(s.items, 3);
  EXPECT_EQ(s.bytes, 30);
  EXPECT_EQ(s.evictions, 1);
  EXPECT_EQ(s.hits, 4);
  EXPECT_EQ(s.misses, 1);
}

TEST(blob_cache, random_policy_stays_within_capacity) {
  blob_cache cache{100, cache_policy::random};
  for (int i = 0; i < 200; ++i) {
    cache.put("k" + std::to_string(i), std::string(7 + i % 5, 'x'));
    auto s = cache.snapshot();
    ASSERT_LE(s.bytes, 100);
  }
  auto s = cache.snapshot();
  EXPECT_GT(s.evictions, 150);
  EXPECT_GE(s.items, 9);
  EXPECT_TRUE(cache.get("k199")) << "the newest entry was just inserted";
}

TEST(blob_cache, resize_replace_erase_and_oversized_items) {
  blob_cache cache{100, cache_policy::lru};
  cache.put("a", std::string(40, 'a'));
  cache.put("b", std::string(40, 'b'));
  cache.put("a", std::string(20, 'A'));
  EXPECT_EQ(cache.snapshot().bytes, 60);
  EXPECT_EQ(*cache.get("a"), std::string(20, 'A'));
  cache.put("huge", std::string(101, 'h'));
  EXPECT_FALSE(cache.get("huge"));
  cache.configure(30, cache_policy::random);
  auto s = cache.snapshot();
  EXPECT_LE(s.bytes, 30);
  EXPECT_EQ(s.policy, cache_policy::random);
  cache.erase("a");
  cache.clear();
  EXPECT_EQ(cache.snapshot().items, 0);
  EXPECT_EQ(parse_cache_policy("lru"), cache_policy::lru);
  EXPECT_FALSE(parse_cache_policy("fifo"));
}
