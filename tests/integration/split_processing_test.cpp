// Split mode: auth, media and processing as three processes on one data folder, talking through
// Redis Streams (photo.uploaded, photo.processed) and the media actor published over CAF's
// middleman (processing reads originals and stores variants through it).
#include <csignal>

#include <gtest/gtest.h>
#include <opencv2/imgcodecs.hpp>

#include "images.hpp"
#include "support.hpp"

using namespace pixhive;
using namespace pixhive::testing;
using nlohmann::json;
using verb = bhttp::verb;
using namespace std::chrono_literals;

namespace {

/// Uploads a plain JPEG of `w`×`h` in `colour` as the owner of `token`.
reply upload_jpeg(uint16_t port, const std::string& token, int w, int h, cv::Scalar colour) {
  cv::Mat img(h, w, CV_8UC3, colour);
  std::vector<uchar> buf;
  cv::imencode(".jpg", img, buf);
  return upload(port, token, std::string(buf.begin(), buf.end()), "", "image/jpeg");
}

}  // namespace

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

  auto up = upload_jpeg(media.port(), token, 800, 600, cv::Scalar(200, 120, 40));
  ASSERT_EQ(up.status, 201) << up.body;
  auto id = up.json()["id"].get<std::string>();
  auto p = settled_photo(media.port(), id, token);
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

TEST(split_processing, over_mutual_tls_an_upload_is_processed_and_a_stranger_is_refused) {
  redis_server redis;
  if (!redis.available()) PIXHIVE_SKIP_MISSING(std::string("skipping: ") + redis.why());
  auto bus = "redis://127.0.0.1:" + std::to_string(redis.port());
  test_pki pki;
  temp_dir data;
  auto with_tls = [&](std::vector<std::string> args) {
    for (auto& a : pki.process_args()) args.push_back(a);
    return args;
  };
  pixhive_server auth({"--access-log", "false"}, "auth", {}, data.path());
  pixhive_server media(with_tls({"--access-log", "false", "--bus", bus, "--actor-port", "0"}),
                       "media", {}, data.path());
  ASSERT_NE(media.actor_port(), 0);
  auto media_at = "127.0.0.1:" + std::to_string(media.actor_port());
  pixhive_server processing(with_tls({"--access-log", "false", "--bus", bus, "--media-actor",
                                      media_at, "--processing-workers", "1"}),
                            "processing", {}, data.path());
  // A processing process started without the cluster's certificate never links to media (on
  // a bus of its own, so that it takes no upload from the others).
  temp_dir elsewhere;
  pixhive_server stranger(
      {"--access-log", "false", "--media-actor", media_at, "--processing-workers", "1"},
      "processing", {}, elsewhere.path());
  auto token = create_and_login(auth, "tess");
  ASSERT_FALSE(token.empty());
  auto up = upload_jpeg(media.port(), token, 400, 300, cv::Scalar(200, 120, 40));
  ASSERT_EQ(up.status, 201) << up.body;
  auto id = up.json()["id"].get<std::string>();
  EXPECT_EQ(settled_photo(media.port(), id, token)["status"], "ready");
  auto linked = [&](pixhive_server& s) {
    auto r = call(s.port(), verb::get, "/readyz").json();
    for (const auto& l : r.value("links", json::array()))
      if (l.value("name", "") == "media") return l.value("connected", 0) > 0;
    return false;
  };
  EXPECT_TRUE(linked(processing)) << call(processing.port(), verb::get, "/readyz").body;
  EXPECT_FALSE(linked(stranger)) << call(stranger.port(), verb::get, "/readyz").body;
}

TEST(split_processing, redis_with_a_password_over_tls_carries_uploads_and_likes) {
  test_pki pki;
  auto tls_port = free_port();
  // TLS only (the plain port off), a password, no client certificates: as ElastiCache runs.
  redis_server redis(
      false, {"--port", "0", "--tls-port", std::to_string(tls_port), "--tls-cert-file", pki.cert(),
              "--tls-key-file", pki.key(), "--tls-ca-cert-file", pki.ca(), "--tls-auth-clients",
              "no", "--requirepass", "bus-secret"});
  if (!redis.available()) PIXHIVE_SKIP_MISSING(std::string("skipping: ") + redis.why());
  stunnel_client tunnel(tls_port, pki.ca());
  if (!tunnel.available()) PIXHIVE_SKIP_MISSING(std::string("skipping: ") + tunnel.why());
  auto at = [](uint16_t port) { return "127.0.0.1:" + std::to_string(port); };
  auto bus = "redis://:bus-secret@" + at(tunnel.port());

  // A wrong password, or plain text to the TLS port, stops a process at start with the reason.
  for (const auto& wrong : {"redis://:guess@" + at(tunnel.port()), "redis://" + at(tunnel.port()),
                            "redis://:bus-secret@" + at(tls_port)}) {
    temp_dir d;
    child_process p({pixhive_binary(), "media", "--data-dir", d.path(), "--port", "0",
                     "--metrics-port", "0", "--bus", wrong});
    auto rc = p.wait_exit(std::chrono::seconds(60));
    EXPECT_TRUE(rc.has_value() && *rc != 0) << wrong << ": " << p.output();
    EXPECT_EQ(p.output().find("bus-secret"), std::string::npos) << "the password is in the log";
  }

  temp_dir data;
  std::vector<std::string> common{"--access-log", "false", "--bus", bus};
  auto args = [&](std::vector<std::string> more) {
    more.insert(more.begin(), common.begin(), common.end());
    return more;
  };
  auto auth_port = free_port(), media_port = free_port();
  pixhive_server auth(args({"--actor-port", std::to_string(auth_port)}), "auth", {}, data.path());
  pixhive_server media(args({"--actor-port", std::to_string(media_port)}), "media", {},
                       data.path());
  pixhive_server processing(args({"--media-actor", at(media_port), "--processing-workers", "1"}),
                            "processing", {}, data.path());
  pixhive_server graph(args({"--media-actor", at(media_port), "--auth-actor", at(auth_port)}),
                       "graph", {}, data.path());
  auto owner = create_and_login(auth, "olga");
  auto fan = create_and_login(auth, "finn");
  ASSERT_FALSE(owner.empty());
  auto up = upload_jpeg(media.port(), owner, 400, 300, cv::Scalar(30, 160, 90));
  ASSERT_EQ(up.status, 201) << up.body;
  auto id = up.json()["id"].get<std::string>();
  ASSERT_EQ(settled_photo(media.port(), id, owner)["status"], "ready")
      << "photo.uploaded and photo.processed did not cross the bus";
  auto like = call(graph.port(), verb::put, "/api/v1/photos/" + id + "/like", nullptr, fan);
  ASSERT_EQ(like.status, 200) << like.body;
  EXPECT_TRUE(eventually(
      [&] {
        auto n = call(graph.port(), verb::get, "/api/v1/notifications", nullptr, owner);
        return n.body.find("\"kind\":\"like\"") != std::string::npos;
      },
      30s))
      << "like.created did not become a notification";
}

TEST(split_processing, a_photo_is_hidden_from_others_until_processing_gives_its_verdict) {
  redis_server redis;
  if (!redis.available()) PIXHIVE_SKIP_MISSING(std::string("skipping: ") + redis.why());
  auto bus = "redis://127.0.0.1:" + std::to_string(redis.port());
  temp_dir data;
  pixhive_server auth({"--access-log", "false"}, "auth", {}, data.path());
  pixhive_server media({"--access-log", "false", "--bus", bus, "--actor-port", "0"}, "media", {},
                       data.path());
  auto owner = create_and_login(auth, "vivi");
  auto other = create_and_login(auth, "walt");
  auto up = upload_jpeg(media.port(), owner, 300, 200, cv::Scalar(90, 40, 200));
  ASSERT_EQ(up.status, 201) << up.body;
  auto id = up.json()["id"].get<std::string>();
  // No processing process yet: the photo stays processing, public but seen by its owner only.
  for (const auto& path : {"", "/original"}) {
    EXPECT_EQ(call(media.port(), verb::get, "/api/v1/photos/" + id + path).status, 404) << path;
    EXPECT_EQ(call(media.port(), verb::get, "/api/v1/photos/" + id + path, nullptr, other).status,
              404)
        << path;
    auto mine = call(media.port(), verb::get, "/api/v1/photos/" + id + path, nullptr, owner);
    EXPECT_EQ(mine.status, 200) << path;
    EXPECT_EQ(mine.headers["Cache-Control"].rfind("private", 0), 0u) << path;
  }
  auto listed = call(media.port(), verb::get, "/api/v1/users/vivi/photos").json();
  EXPECT_TRUE(listed["photos"].empty()) << listed.dump();
  pixhive_server processing(
      {"--access-log", "false", "--bus", bus, "--media-actor",
       "127.0.0.1:" + std::to_string(media.actor_port()), "--processing-workers", "1"},
      "processing", {}, data.path());
  ASSERT_EQ(settled_photo(media.port(), id, owner)["status"], "ready");
  auto bytes = call(media.port(), verb::get, "/api/v1/photos/" + id + "/original");
  EXPECT_EQ(bytes.status, 200);
  EXPECT_EQ(bytes.headers["Cache-Control"], "public, max-age=31536000, immutable");
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
  auto up = upload_jpeg(media->port(), token, 400, 300, cv::Scalar(30, 160, 90));
  ASSERT_EQ(up.status, 201) << up.body;
  auto id = up.json()["id"].get<std::string>();
  EXPECT_EQ(settled_photo(media->port(), id, token)["status"], "ready");

  // A process with links stops at once on SIGTERM, well inside --shutdown-timeout (30 s): its
  // link proxies exit with it instead of holding the actor system open.
  search->process().signal(SIGTERM);
  EXPECT_TRUE(search->process().wait_exit(15s).has_value());
}
