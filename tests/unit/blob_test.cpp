#include <filesystem>

#include <gtest/gtest.h>

#include "pixhive/store/blob.hpp"

using namespace pixhive;
namespace fs = std::filesystem;

namespace {

struct folder : ::testing::Test {
  fs::path root =
      fs::temp_directory_path() / ("pixhive-blob-" + std::to_string(::getpid()) + "-" +
                                   ::testing::UnitTest::GetInstance()->current_test_info()->name());
  void TearDown() override { fs::remove_all(root); }
};

size_t count_files(const fs::path& root) {
  size_t n = 0;
  for (auto& e : fs::recursive_directory_iterator(root))
    if (e.is_regular_file()) ++n;
  return n;
}

}  // namespace

TEST_F(folder, put_get_replace_remove) {
  auto store = store::open_folder_store(root.string());
  ASSERT_TRUE(store);
  std::string bytes("\x00\xff binary \x01", 12);
  ASSERT_TRUE((*store)->put("originals/123", bytes));
  EXPECT_EQ(*(*store)->get("originals/123"), bytes);
  ASSERT_TRUE((*store)->put("originals/123", "new"));
  EXPECT_EQ(*(*store)->get("originals/123"), "new");
  EXPECT_EQ(count_files(root), 1u) << "no temp files are left behind";
  ASSERT_TRUE((*store)->remove("originals/123"));
  auto gone = (*store)->get("originals/123");
  ASSERT_FALSE(gone);
  EXPECT_EQ(to_problem(gone.error()).kind, errc::not_found);
  EXPECT_TRUE((*store)->remove("originals/123")) << "removing twice is fine";
}

TEST_F(folder, keys_cannot_escape_the_root) {
  auto store = store::open_folder_store(root.string());
  ASSERT_TRUE(store);
  for (auto bad : {"../etc/passwd", "/abs", "a/../../b", "UPPER", "a b", "", "a//b", "x/"}) {
    EXPECT_FALSE(store::valid_blob_key(bad)) << bad;
    EXPECT_FALSE((*store)->put(bad, "x")) << bad;
  }
  EXPECT_FALSE(fs::exists(root.parent_path() / "etc"));
}

TEST_F(folder, blobs_are_sharded) {
  auto store = store::open_folder_store(root.string());
  ASSERT_TRUE(store);
  for (int i = 0; i < 20; ++i) ASSERT_TRUE((*store)->put("k/" + std::to_string(i), "v"));
  std::set<std::string> shards;
  for (auto& e : fs::directory_iterator(root)) shards.insert(e.path().filename().string());
  EXPECT_GT(shards.size(), 5u);
}
