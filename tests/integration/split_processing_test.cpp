// Split mode: auth, media and processing as three processes on one data folder, talking through
// Redis Streams (photo.uploaded, photo.processed) and the media actor published over CAF's
// middleman (processing reads originals and stores variants through it).
#include <csignal>
#include <thread>

#include <gtest/gtest.h>
#include <opencv2/imgcodecs.hpp>

#include "images.hpp"
#include "support.hpp"

using namespace pixhive;
using namespace pixhive::testing;
using nlohmann::json;
using verb = bhttp::verb;
using namespace std::chrono_literals;

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

TEST(split_processing, services_start_in_any_order_and_follow_restarts) {
  redis_server redis;
  if (!redis.available()) PIXHIVE_SKIP_MISSING(std::string("skipping: ") + redis.why());
  auto bus = "redis://127.0.0.1:" + std::to_string(redis.port());
  temp_dir data;
  auto at = [](uint16_t port) { return "127.0.0.1:" + std::to_string(port); };
  auto auth_port = free_port(), media_port = free_port(), graph_port = free_port();
  std::vector<std::string> common{"--access-log", "false", "--bus", bus};
  auto args = [&](std::vector<std::string> more) {
    more.insert(more.begin(), common.begin(), common.end());
    return more;
  };
  auto media_args =
      args({"--actor-port", std::to_string(media_port), "--graph-actor", at(graph_port)});
  // Reverse dependency order: every process starts while what it needs is not there yet.
  auto deps = args({"--media-actor", at(media_port), "--auth-actor", at(auth_port), "--graph-actor",
                    at(graph_port)});
  auto search = std::make_unique<pixhive_server>(deps, "search",
                                                 std::map<std::string, std::string>{}, data.path());
  auto early = call(search->port(), verb::get, "/readyz");
  EXPECT_EQ(early.status, 503) << early.body;
  ASSERT_TRUE(early.json()["links"].is_array()) << early.body;
  EXPECT_EQ(early.json()["links"].size(), 3u);
  pixhive_server feed(deps, "feed", {}, data.path());
  auto graph_args = args({"--actor-port", std::to_string(graph_port), "--media-actor",
                          at(media_port), "--auth-actor", at(auth_port)});
  pixhive_server graph(graph_args, "graph", {}, data.path());
  pixhive_server processing(args({"--media-actor", at(media_port), "--processing-workers", "1"}),
                            "processing", {}, data.path());
  auto media = std::make_unique<pixhive_server>(media_args, "media",
                                                std::map<std::string, std::string>{}, data.path());
  pixhive_server auth(args({"--actor-port", std::to_string(auth_port)}), "auth", {}, data.path());
  std::vector<pixhive_server*> all{search.get(), &feed, &graph, &processing, media.get(), &auth};
  auto ready = [](pixhive_server* s) {
    return call(s->port(), verb::get, "/readyz").status == 200;
  };
  for (auto* s : all) EXPECT_TRUE(eventually([&] { return ready(s); }, 30s)) << s->port();
  auto links = call(search->port(), verb::get, "/readyz").json()["links"];
  for (auto& l : links) EXPECT_GE(l["connected"].get<int>(), 1) << links.dump();

  // Media dies hard and comes back on the same port: processing goes unready, then follows it.
  media->process().signal(SIGKILL);
  media->process().wait_exit();
  EXPECT_TRUE(eventually([&] { return !ready(&processing); }, 10s));
  media.reset();
  media = std::make_unique<pixhive_server>(media_args, "media",
                                           std::map<std::string, std::string>{}, data.path());
  EXPECT_TRUE(eventually([&] { return ready(&processing); }, 30s));
  auto token = create_and_login(auth, "erin");
  cv::Mat img(300, 400, CV_8UC3, cv::Scalar(30, 160, 90));
  std::vector<uchar> buf;
  cv::imencode(".jpg", img, buf);
  http_connection conn{media->port()};
  auto up = conn.request(verb::post, "/api/v1/photos", std::string(buf.begin(), buf.end()),
                         {{"Content-Type", "image/jpeg"}, {"Authorization", "Bearer " + token}});
  ASSERT_EQ(up.status, 201) << up.body;
  auto id = up.json()["id"].get<std::string>();
  EXPECT_TRUE(eventually(
      [&] {
        return call(media->port(), verb::get, "/api/v1/photos/" + id).json()["status"] == "ready";
      },
      60s));

  // A process with links stops at once on SIGTERM, well inside --shutdown-timeout (30 s): its
  // link proxies exit with it instead of holding the actor system open.
  search->process().signal(SIGTERM);
  EXPECT_TRUE(search->process().wait_exit(15s).has_value());
}
