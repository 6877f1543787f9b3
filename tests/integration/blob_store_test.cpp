// One suite for every blob-store backend: the folder store and the S3 store against s3rver.
#include <filesystem>

#include <gtest/gtest.h>

#include "pixhive/store/blob.hpp"
#include "pixhive/store/s3.hpp"
#include "support.hpp"

using namespace pixhive;
using namespace pixhive::testing;
namespace fs = std::filesystem;

namespace {

class blob_store : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    if (!stores_.start(GetParam())) PIXHIVE_SKIP_MISSING(stores_.why());
    if (GetParam() == "folder") {
      store_ = std::move(*store::open_folder_store(stores_.dir()));
      return;
    }
    store::s3_config cfg;
    cfg.bucket = "pixhive";
    cfg.endpoint = stores_.s3()->endpoint();
    cfg.path_style = true;
    cfg.credentials = {"S3RVER", "S3RVER", ""};
    auto opened = store::open_s3_store(cfg);
    ASSERT_TRUE(opened) << to_problem(opened.error()).message;
    store_ = std::move(*opened);
  }

  backends stores_;
  std::unique_ptr<store::blob_store> store_;
};

}  // namespace

TEST_P(blob_store, put_get_replace_remove) {
  std::string bytes("\x00\xff binary \x01", 12);
  ASSERT_TRUE(store_->put("originals/123", bytes));
  EXPECT_EQ(*store_->get("originals/123"), bytes);
  ASSERT_TRUE(store_->put("originals/123", "new"));
  EXPECT_EQ(*store_->get("originals/123"), "new");
  ASSERT_TRUE(store_->remove("originals/123"));
  auto gone = store_->get("originals/123");
  ASSERT_FALSE(gone);
  EXPECT_EQ(to_problem(gone.error()).kind, errc::not_found);
  EXPECT_TRUE(store_->remove("originals/123")) << "removing twice is fine";
}

TEST_P(blob_store, large_blobs_round_trip) {
  std::string big(5 * 1024 * 1024 + 17, '\0');
  for (size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>(i * 131 % 251);
  ASSERT_TRUE(store_->put("variants/9/large-1", big));
  auto back = store_->get("variants/9/large-1");
  ASSERT_TRUE(back);
  EXPECT_TRUE(*back == big);
}

TEST_P(blob_store, invalid_keys_are_refused) {
  for (auto bad : {"../etc/passwd", "/abs", "a/../../b", "UPPER", "a b", "", "a//b", "x/"}) {
    EXPECT_FALSE(store::valid_blob_key(bad)) << bad;
    EXPECT_FALSE(store_->put(bad, "x")) << bad;
  }
}

INSTANTIATE_TEST_SUITE_P(backends, blob_store, ::testing::Values("folder", "s3"), backend_name);

TEST(blob_store_folder, writes_are_atomic_and_sharded) {
  temp_dir dir;
  auto s = store::open_folder_store(dir.path());
  ASSERT_TRUE(s);
  for (int i = 0; i < 20; ++i) ASSERT_TRUE((*s)->put("k/" + std::to_string(i), "v"));
  ASSERT_TRUE((*s)->put("k/0", "replaced"));
  std::set<std::string> shards;
  size_t files = 0;
  for (auto& e : fs::directory_iterator(dir.path())) shards.insert(e.path().filename().string());
  for (auto& e : fs::recursive_directory_iterator(dir.path()))
    if (e.is_regular_file()) ++files;
  EXPECT_GT(shards.size(), 5u);
  EXPECT_EQ(files, 20u) << "no temp files are left behind";
  EXPECT_FALSE(fs::exists(fs::path(dir.path()).parent_path() / "etc" / "passwd.tmp"));
}
