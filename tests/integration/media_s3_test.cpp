// Photos stored in an S3-compatible service (s3rver on loopback). s3rver does not reject wrong
// signatures, so SigV4 itself is proven by the AWS example in tests/unit/sigv4_test.cpp.
#include <filesystem>

#include <gtest/gtest.h>

#include <boost/asio/ip/tcp.hpp>

#include "images.hpp"
#include "support.hpp"

using namespace pixhive::testing;
using verb = bhttp::verb;

namespace {

size_t stored_objects(const std::string& dir, const std::string& id) {
  size_t n = 0;
  for (auto& e : std::filesystem::recursive_directory_iterator(dir))
    if (e.is_regular_file() && e.path().string().find(id) != std::string::npos) ++n;
  return n;
}

std::vector<std::string> s3_args(const s3rver_server& s3) {
  return {"--access-log", "false",   "--blob-store",   "s3", "--s3-endpoint", s3.endpoint(),
          "--s3-bucket",  "pixhive", "--s3-path-style"};
}

}  // namespace

TEST(media_s3, photos_round_trip_through_s3) {
  s3rver_server s3;
  if (!s3.available()) PIXHIVE_SKIP_MISSING(std::string("skipping S3 test: ") + s3.why());
  pixhive_server server(s3_args(s3), "all",
                        {{"AWS_ACCESS_KEY_ID", "S3RVER"}, {"AWS_SECRET_ACCESS_KEY", "S3RVER"}});
  auto token = create_and_login(server, "sam");
  auto image = make_bmp(32, 20);
  http_connection conn{server.port()};
  auto up = conn.request(verb::post, "/api/v1/photos?key=s3-photo", image,
                         {{"Content-Type", "image/bmp"}, {"Authorization", "Bearer " + token}});
  ASSERT_EQ(up.status, 201) << up.body << server.process().output();
  auto id = up.json()["id"].get<std::string>();
  EXPECT_GE(stored_objects(s3.dir(), id), 1u);

  // Cleared cache: the bytes come from S3.
  auto original = conn.request(verb::get, "/api/v1/photos/" + id + "/original");
  ASSERT_EQ(original.status, 200);
  EXPECT_EQ(original.body, image);

  auto del = conn.request(verb::delete_, "/api/v1/photos/" + id, {},
                          {{"Authorization", "Bearer " + token}});
  EXPECT_EQ(del.status, 204);
  EXPECT_EQ(stored_objects(s3.dir(), id), 0u);
}

TEST(media_s3, an_unreachable_store_is_a_503_and_stores_nothing) {
  // A port that was free a moment ago: connections are refused, retried with backoff, then given
  // up.
  uint16_t closed;
  {
    boost::asio::io_context ioc;
    boost::asio::ip::tcp::acceptor acc{ioc, {boost::asio::ip::make_address("127.0.0.1"), 0}};
    closed = acc.local_endpoint().port();
  }
  pixhive_server server(
      {"--access-log", "false", "--blob-store", "s3", "--s3-endpoint",
       "http://127.0.0.1:" + std::to_string(closed), "--s3-bucket", "pixhive", "--s3-path-style"},
      "all", {{"AWS_ACCESS_KEY_ID", "S3RVER"}, {"AWS_SECRET_ACCESS_KEY", "S3RVER"}});
  auto token = create_and_login(server, "sam");
  http_connection conn{server.port()};
  auto up = conn.request(verb::post, "/api/v1/photos", make_bmp(2, 2),
                         {{"Content-Type", "image/bmp"}, {"Authorization", "Bearer " + token}});
  EXPECT_EQ(up.status, 503) << up.body;
  EXPECT_EQ(up.error_code(), "blob_store_unreachable");
  auto list = conn.request(verb::get, "/api/v1/users/sam/photos", {},
                           {{"Authorization", "Bearer " + token}});
  EXPECT_EQ(list.json()["photos"].size(), 0u);
  EXPECT_NE(server.process().output().find("s3_retry"), std::string::npos);
}
