#include <filesystem>

#include <gtest/gtest.h>

#include "media_logic.hpp"
#include "pixhive/core/ids.hpp"

using namespace pixhive;
namespace fs = std::filesystem;

TEST(media_sweep, interrupted_uploads_lose_their_row_and_blob) {
  auto dir = fs::temp_directory_path() / ("pixhive-sweep-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  auto db = store::database::open("sqlite:" + (dir / "db").string());
  ASSERT_TRUE(db);
  ASSERT_TRUE(media::migrate(**db));
  std::shared_ptr<store::blob_store> blobs =
      std::move(*store::open_folder_store((dir / "blobs").string()));
  std::shared_ptr<bus::event_bus> events = bus::make_in_process_bus();
  media::media_config cfg;
  media::logic impl{*db, blobs, events, cfg};
  // What a crash between "row written" and "blob written" leaves behind, plus a finished upload.
  for (auto [id, status] :
       {std::pair{int64_t{1}, "uploading"}, std::pair{int64_t{2}, "processing"}}) {
    ASSERT_TRUE((*db)->query(
        "INSERT INTO photos (id, owner_id, owner_username, caption, hashtags, photo_key, "
        "visibility, content_type, "
        "size, width, height, sha256, status, created_at, blob_key) VALUES (?, 7, 'u', '', ' ', "
        "NULL, 'public', "
        "'image/bmp', 1, 1, 1, 'x', ?, ?, ?)",
        {id, std::string(status), unix_now() - 3600, "originals/" + std::to_string(id)}));
    ASSERT_TRUE(blobs->put("originals/" + std::to_string(id), "bytes"));
  }
  auto swept = impl.sweep_unfinished(60);
  ASSERT_TRUE(swept);
  EXPECT_EQ(*swept, 1);
  EXPECT_FALSE(blobs->get("originals/1"));
  EXPECT_TRUE(blobs->get("originals/2"));
  auto rows = (*db)->query("SELECT id FROM photos");
  ASSERT_TRUE(rows);
  ASSERT_EQ(rows->size(), 1u);
  EXPECT_EQ(rows->front().int_at(0), 2);
  events->stop();
  fs::remove_all(dir);
}
