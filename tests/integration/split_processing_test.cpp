// Split mode: auth, media and processing as three processes on one data folder, talking through
// Redis Streams (photo.uploaded, photo.processed) and the media actor published over CAF's
// middleman (processing reads originals and stores variants through it).
#include <thread>

#include <gtest/gtest.h>
#include <opencv2/imgcodecs.hpp>

#include "images.hpp"
#include "support.hpp"

using namespace pixhive;
using namespace pixhive::testing;
using nlohmann::json;
using verb = bhttp::verb;

TEST(split_processing, an_upload_to_media_is_processed_by_another_process) {
  redis_server redis;
  if (!redis.available()) PIXHIVE_SKIP_MISSING(std::string("skipping: ") + redis.why());
  auto bus = "redis://127.0.0.1:" + std::to_string(redis.port());
  temp_dir data;
  pixhive_server auth({"--access-log", "false"}, "auth", {}, data.path());
  pixhive_server media({"--access-log", "false", "--bus", bus, "--actor-port", "0"}, "media", {},
                       data.path());
  ASSERT_NE(media.actor_port(), 0);
  pixhive_server processing(
      {"--access-log", "false", "--bus", bus, "--media-actor",
       "127.0.0.1:" + std::to_string(media.actor_port()), "--processing-workers", "1"},
      "processing", {}, data.path());
  auto token = create_and_login(auth, "dana");
  ASSERT_FALSE(token.empty());

  cv::Mat img(600, 800, CV_8UC3, cv::Scalar(200, 120, 40));
  std::vector<uchar> buf;
  cv::imencode(".jpg", img, buf);
  http_connection conn{media.port()};
  auto up = conn.request(verb::post, "/api/v1/photos", std::string(buf.begin(), buf.end()),
                         {{"Content-Type", "image/jpeg"}, {"Authorization", "Bearer " + token}});
  ASSERT_EQ(up.status, 201) << up.body;
  auto id = up.json()["id"].get<std::string>();
  json p;
  for (int i = 0; i < 1500; ++i) {
    p = call(media.port(), verb::get, "/api/v1/photos/" + id).json();
    if (p["status"] != "processing") break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ASSERT_EQ(p["status"], "ready") << p.dump();
  EXPECT_EQ(p["variants"].size(), 4u);
  EXPECT_EQ(p["tags"], json({"blue"}));
  // The processing process serves jobs too; its result lands in media as a variant.
  auto job = call(processing.port(), verb::post, "/api/v1/photos/" + id + "/jobs",
                  {{"operations", {{{"name", "grayscale"}}}}}, token);
  ASSERT_EQ(job.status, 202) << job.body;
  auto events = call(processing.port(), verb::get,
                     "/api/v1/jobs/" + job.json()["jobs"][0]["id"].get<std::string>() + "/events",
                     nullptr, token);
  EXPECT_NE(events.body.find("event: succeeded"), std::string::npos) << events.body;
  auto variants = call(media.port(), verb::get, "/api/v1/photos/" + id).json()["variants"];
  EXPECT_EQ(variants.size(), 5u);
}
