// The media REST API over real HTTP against a real `pixhive` (SQLite, local blob folder).
#include <filesystem>
#include <iostream>

#include <gtest/gtest.h>

#include "images.hpp"
#include "pixhive/core/crypto.hpp"
#include "support.hpp"

using namespace pixhive;
using namespace pixhive::testing;
using nlohmann::json;
using verb = bhttp::verb;

namespace {

class media_api : public ::testing::Test {
 protected:
  void SetUp() override {
    server_ = stores_.server({"--access-log", "false"});
    alice_ = create_and_login(*server_, "alice");
    bob_ = create_and_login(*server_, "bob");
    ASSERT_FALSE(alice_.empty());
    ASSERT_FALSE(bob_.empty());
  }

  uint16_t port() const { return server_->port(); }

  reply upload_raw(const std::string& token, const std::string& bytes,
                   const std::string& query = "", const std::string& type = "image/bmp") {
    return upload(port(), token, bytes, query, type);
  }

  reply get(const std::string& target, const std::string& token = {},
            std::map<std::string, std::string> h = {}) {
    http_connection conn{port()};
    if (!token.empty()) h["Authorization"] = "Bearer " + token;
    return conn.request(verb::get, target, {}, h);
  }

  /// Waits until processing has finished with a photo; returns its record.
  json settled(const std::string& id, const std::string& token) {
    return settled_photo(port(), id, token);
  }

  size_t blob_files() {
    size_t n = 0;
    auto dir = server_->data_dir() + "/blobs";
    if (!std::filesystem::exists(dir)) return 0;
    for (auto& e : std::filesystem::recursive_directory_iterator(dir))
      if (e.is_regular_file()) ++n;
    return n;
  }

  backends stores_;  // SQLite and the blob folder in its data dir
  std::unique_ptr<pixhive_server> server_;
  std::string alice_, bob_;
};

}  // namespace

TEST_F(media_api, raw_upload_is_stored_and_served_with_cache_headers) {
  crypto::init();
  auto image = make_bmp(4, 3);
  auto up =
      upload_raw(alice_, image, "?caption=Sunset%20%23Beach%20%23beach%20%23caf%C3%A9&key=sunset-1",
                 "image/png");
  ASSERT_EQ(up.status, 201) << up.body;
  auto p = up.json();
  EXPECT_EQ(p["content_type"], "image/bmp") << "the type comes from the bytes, not the header";
  EXPECT_EQ(p["width"], 4);
  EXPECT_EQ(p["height"], 3);
  EXPECT_EQ(p["status"], "processing");
  EXPECT_EQ(p["owner"]["username"], "alice");
  EXPECT_EQ(p["hashtags"], json({"beach", "café"}));
  EXPECT_EQ(p["key"], "sunset-1");
  EXPECT_EQ(p["sha256"], crypto::sha256_hex(image));
  auto id = p["id"].get<std::string>();
  // Others see it only once processing gave its verdict.
  ASSERT_EQ(settled(id, alice_)["status"], "ready");

  auto meta = get("/api/v1/photos/" + id);
  ASSERT_EQ(meta.status, 200);
  EXPECT_EQ(meta.json()["caption"], "Sunset #Beach #beach #café");

  auto original = get("/api/v1/photos/" + id + "/original");
  ASSERT_EQ(original.status, 200);
  EXPECT_EQ(original.body, image);
  EXPECT_EQ(original.headers["Content-Type"], "image/bmp");
  EXPECT_EQ(original.headers["Content-Length"], std::to_string(image.size()));
  EXPECT_EQ(original.headers["Cache-Control"], "public, max-age=31536000, immutable");
  auto etag = original.headers["ETag"];
  EXPECT_EQ(etag, "\"" + crypto::sha256_hex(image) + "\"");

  auto cached = get("/api/v1/photos/" + id + "/original", {}, {{"If-None-Match", etag}});
  EXPECT_EQ(cached.status, 304);
  EXPECT_TRUE(cached.body.empty());
  auto part = get("/api/v1/photos/" + id + "/original", {}, {{"Range", "bytes=2-11"}});
  ASSERT_EQ(part.status, 206);
  EXPECT_EQ(part.body, image.substr(2, 10));
  EXPECT_EQ(part.headers["Content-Range"], "bytes 2-11/" + std::to_string(image.size()));
  auto tail = get("/api/v1/photos/" + id + "/original", {}, {{"Range", "bytes=-5"}});
  EXPECT_EQ(tail.body, image.substr(image.size() - 5));
  EXPECT_EQ(get("/api/v1/photos/" + id + "/original", {}, {{"Range", "bytes=999999-"}}).status,
            416);

  auto by_key = get("/api/v1/users/alice/photos/by-key/sunset-1");
  ASSERT_EQ(by_key.status, 200);
  EXPECT_EQ(by_key.json()["id"], id);
  EXPECT_EQ(get("/api/v1/users/alice/photos/by-key/nope").status, 404);
  EXPECT_EQ(get("/api/v1/photos/" + id + "/variants/thumb").status, 404);
}

TEST_F(media_api, multipart_upload) {
  auto gif = make_bmp(2, 2);
  form f{"----pixhive-test-boundary"};
  f.field("caption", "A #tiny gif")
      .field("visibility", "private")
      .file("file", gif, "x.jpg", "image/jpeg");
  auto up = upload_raw(alice_, f.done(), "", f.type());
  ASSERT_EQ(up.status, 201) << up.body;
  EXPECT_EQ(up.json()["content_type"], "image/bmp");
  EXPECT_EQ(up.json()["visibility"], "private");
  EXPECT_EQ(up.json()["hashtags"], json({"tiny"}));
  auto id = up.json()["id"].get<std::string>();
  auto mine = get("/api/v1/photos/" + id + "/original", alice_);
  EXPECT_EQ(mine.status, 200);
  EXPECT_EQ(mine.body, gif);
  EXPECT_EQ(mine.headers["Cache-Control"], "private, no-cache");
  // Private photos do not exist for anyone but their owner (and admins).
  EXPECT_EQ(get("/api/v1/photos/" + id, bob_).status, 404);
  EXPECT_EQ(get("/api/v1/photos/" + id + "/original").status, 404);
  EXPECT_EQ(get("/api/v1/users/alice/photos", bob_).json()["photos"].size(), 0u);
  EXPECT_EQ(get("/api/v1/users/alice/photos", alice_).json()["photos"].size(), 1u);
  auto admin = create_and_login(*server_, "root", true);
  EXPECT_EQ(get("/api/v1/photos/" + id, admin).status, 200);
  form empty{f.boundary};
  auto no_file = upload_raw(alice_, empty.done(), "", empty.type());
  EXPECT_EQ(no_file.status, 400);
  EXPECT_EQ(upload_raw(alice_, "garbage", "", f.type()).status, 400);
}

TEST_F(media_api, bad_uploads_are_refused_and_leave_nothing_behind) {
  auto admin = create_and_login(*server_, "root", true);
  auto photo_rows = [&] {
    return get("/api/v1/admin/stats", admin).json()["photos"].get<int64_t>();
  };
  auto taken = upload_raw(alice_, make_bmp(2, 2), "?key=taken");
  ASSERT_EQ(taken.status, 201);
  EXPECT_EQ(settled(taken.json()["id"], alice_)["status"], "ready");
  auto files_before = blob_files();
  auto rows_before = photo_rows();
  ASSERT_EQ(rows_before, 1);
  struct bad_case {
    std::string bytes, query, type, token;
    int status;
    std::string code;
  };
  auto bmp = make_bmp(8, 8);
  auto jpeg = real_photo();
  if (jpeg.empty()) {
    std::cout
        << "[ NOTE ] no real photo (scripts/fetch-photos); the truncated-JPEG case uses a BMP\n";
    jpeg = bmp;
  }
  std::vector<bad_case> cases{
      {"%PDF-1.7 not an image", "", "image/jpeg", alice_, 415, "unsupported_media_type"},
      {jpeg.substr(0, jpeg.size() / 2), "", "image/jpeg", alice_, 422, "corrupt_image"},
      {bmp.substr(0, bmp.size() - 40), "", "image/bmp", alice_, 422, "corrupt_image"},
      {make_png_header(50000, 50000), "", "image/png", alice_, 422, "too_many_pixels"},
      {make_gif(60, 60), "", "image/gif", alice_, 415, "unsupported_media_type"},
      {bmp, "", "image/bmp", "", 401, "unauthorized"},
      {bmp, "", "text/plain", alice_, 415, "unsupported_media_type"},
      {bmp, "?key=taken", "image/bmp", alice_, 409, "key_taken"},
      {bmp, "?key=bad%20key", "image/bmp", alice_, 400, "invalid_key"},
      {bmp, "?visibility=friends", "image/bmp", alice_, 400, "invalid_visibility"},
      {bmp, "?caption=" + std::string(2201, 'x'), "image/bmp", alice_, 400, "caption_too_long"},
  };
  for (const auto& c : cases) {
    auto r = upload_raw(c.token, c.bytes, c.query, c.type);
    EXPECT_EQ(r.status, c.status) << c.code << ": " << r.body;
    EXPECT_EQ(r.error_code(), c.code);
  }
  // A PDF renamed .jpg and declared image/jpeg in a form: the bytes decide.
  form pdf_form{"b0undary"};
  pdf_form.file("file", "%PDF-1.4 fake", "holiday.jpg", "image/jpeg");
  auto pdf = upload_raw(alice_, pdf_form.done(), "", pdf_form.type());
  EXPECT_EQ(pdf.status, 415);
  EXPECT_NE(pdf.json()["error"]["message"].get<std::string>().find("detected PDF document"),
            std::string::npos)
      << pdf.body;
  auto huge = upload_raw(alice_, std::string(26 * 1024 * 1024, 'x'), "", "image/jpeg");
  EXPECT_EQ(huge.status, 413);
  EXPECT_EQ(blob_files(), files_before);
  EXPECT_EQ(photo_rows(), rows_before);
}

TEST_F(media_api, listing_is_newest_first_with_a_stable_cursor) {
  std::vector<std::string> ids;
  for (int i = 0; i < 5; ++i) {
    auto r = upload_raw(alice_, make_bmp(1, 1, static_cast<char>(i)));
    ASSERT_EQ(r.status, 201);
    ids.push_back(r.json()["id"]);
  }
  std::vector<std::string> seen;
  std::string cursor;
  for (int page = 0; page < 10; ++page) {
    // As their owner: others see a photo only once it is processed (the authorization matrix
    // checks that), and this test is about the cursor.
    auto r = get("/api/v1/users/alice/photos?limit=2" + (cursor.empty() ? "" : "&cursor=" + cursor),
                 alice_);
    ASSERT_EQ(r.status, 200) << r.body;
    auto j = r.json();
    for (auto& p : j["photos"]) seen.push_back(p["id"]);
    // An upload between pages must not shift what the next page returns.
    if (page == 0) {
      ASSERT_EQ(upload_raw(alice_, make_bmp(1, 1, 'z')).status, 201);
    }
    if (j["next_cursor"].is_null()) break;
    cursor = j["next_cursor"];
  }
  EXPECT_EQ(seen, std::vector<std::string>(ids.rbegin(), ids.rend()));
  EXPECT_EQ(get("/api/v1/users/alice/photos?limit=0").status, 400);
  EXPECT_EQ(get("/api/v1/users/alice/photos?cursor=x").status, 400);
}

TEST_F(media_api, delete_is_for_the_owner_and_removes_the_blobs) {
  auto up = upload_raw(alice_, make_bmp(3, 3));
  ASSERT_EQ(up.status, 201);
  auto id = up.json()["id"].get<std::string>();
  EXPECT_EQ(blob_files(), 1u);
  // Bob may see it (and so be told 403, not 404) once it is ready.
  ASSERT_EQ(settled(id, alice_)["status"], "ready");
  http_connection conn{port()};
  auto by_bob = conn.request(verb::delete_, "/api/v1/photos/" + id, {},
                             {{"Authorization", "Bearer " + bob_}});
  EXPECT_EQ(by_bob.status, 403);
  EXPECT_EQ(get("/api/v1/photos/" + id).status, 200);
  auto by_alice = conn.request(verb::delete_, "/api/v1/photos/" + id, {},
                               {{"Authorization", "Bearer " + alice_}});
  EXPECT_EQ(by_alice.status, 204);
  EXPECT_EQ(get("/api/v1/photos/" + id).status, 404);
  EXPECT_EQ(get("/api/v1/photos/" + id + "/original").status, 404);
  EXPECT_EQ(blob_files(), 0u);
  EXPECT_EQ(conn.request(verb::delete_, "/api/v1/photos/" + id, {},
                         {{"Authorization", "Bearer " + alice_}})
                .status,
            404);
}

TEST_F(media_api, admins_see_and_tune_the_cache_and_stats) {
  auto admin = create_and_login(*server_, "root", true);
  auto image = make_bmp(16, 16);
  auto up = upload_raw(alice_, image);
  ASSERT_EQ(up.status, 201);
  auto id = up.json()["id"].get<std::string>();
  // Processing reads the original once (the cache's first miss) to make the variants.
  auto ready = settled(id, alice_);
  ASSERT_EQ(ready["status"], "ready");
  int64_t variant_bytes = 0;
  for (auto& v : ready["variants"]) variant_bytes += v["size"].get<int64_t>();
  for (int i = 0; i < 3; ++i) ASSERT_EQ(get("/api/v1/photos/" + id + "/original").body, image);

  auto cache = get("/api/v1/admin/cache", admin);
  ASSERT_EQ(cache.status, 200) << cache.body;
  auto c = cache.json();
  EXPECT_EQ(c["items"], 1);
  EXPECT_EQ(c["bytes"], image.size());
  EXPECT_EQ(c["misses"], 1);
  EXPECT_EQ(c["hits"], 3);
  EXPECT_NEAR(c["hit_rate"].get<double>(), 3.0 / 4.0, 1e-9);
  EXPECT_EQ(c["policy"], "lru");
  EXPECT_EQ(c["capacity_mb"], 256);
  EXPECT_EQ(get("/api/v1/admin/cache", alice_).status, 403);

  auto put_cache = [&](const json& body) {
    http_connection conn{port()};
    return conn.request(
        verb::put, "/api/v1/admin/cache", body.dump(),
        {{"Content-Type", "application/json"}, {"Authorization", "Bearer " + admin}});
  };
  auto tuned = put_cache({{"capacity_mb", 1}, {"policy", "random"}});
  ASSERT_EQ(tuned.status, 200) << tuned.body;
  EXPECT_EQ(tuned.json()["policy"], "random");
  EXPECT_EQ(tuned.json()["capacity_mb"], 1);
  EXPECT_EQ(tuned.json()["items"], 1);
  EXPECT_EQ(put_cache({{"capacity_mb", 1}, {"policy", "fifo"}}).status, 400);
  EXPECT_EQ(put_cache({{"capacity_mb", "big"}, {"policy", "lru"}}).status, 400);
  http_connection conn{port()};
  auto cleared = conn.request(verb::delete_, "/api/v1/admin/cache", {},
                              {{"Authorization", "Bearer " + admin}});
  ASSERT_EQ(cleared.status, 200);
  EXPECT_EQ(cleared.json()["items"], 0);
  EXPECT_EQ(cleared.json()["hits"], 3) << "clearing keeps the counters";

  auto stats = get("/api/v1/admin/stats", admin);
  ASSERT_EQ(stats.status, 200) << stats.body;
  EXPECT_EQ(stats.json()["photos"], 1);
  EXPECT_EQ(stats.json()["bytes_stored"], image.size() + variant_bytes);
  EXPECT_EQ(stats.json()["by_status"]["ready"], 1);
  EXPECT_EQ(stats.json()["uploads_last_hour"], 1);
  EXPECT_EQ(stats.json()["uploads_last_day"], 1);

  auto metrics = call(server_->metrics_port(), verb::get, "/metrics").body;
  EXPECT_NE(metrics.find("pixhive_media_cache_hits_total 3"), std::string::npos);
  EXPECT_NE(metrics.find("pixhive_media_uploads_total{result=\"accepted\"} 1"), std::string::npos);
  EXPECT_NE(metrics.find(
                "pixhive_media_blob_operation_seconds_count{backend=\"folder\",operation=\"put\"}"),
            std::string::npos);
}
