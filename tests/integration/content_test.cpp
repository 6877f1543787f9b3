// Content intelligence through the real path: a real `pixhive` tags darknet's and opencv-doc's
// sample photos (objects, faces) so that search and tag pages find them; moderation holds,
// queues and releases uploads (thresholds lowered so that any photo trips them); and a missing
// or corrupt model file stops start-up.
#include <csignal>
#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "support.hpp"

using namespace pixhive;
using namespace pixhive::testing;
using nlohmann::json;
using verb = bhttp::verb;
namespace fs = std::filesystem;

namespace {

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

std::string sample(const std::string& name) {
  return slurp(std::string(PIXHIVE_SOURCE_DIR) + "/.cache/samples/" + name);
}

/// A photo of its own: a gradient with a shape, different for every `seed`.
std::string made_photo(int seed) {
  cv::Mat img(480, 640, CV_8UC3);
  for (int y = 0; y < img.rows; ++y)
    img.row(y).setTo(cv::Scalar((y + seed * 40) % 256, (seed * 70) % 256, 255 - y % 256));
  cv::circle(img, cv::Point(100 + seed * 60, 240), 80, cv::Scalar(20, 200, 240), cv::FILLED);
  std::vector<uchar> buf;
  cv::imencode(".jpg", img, buf);
  return std::string(buf.begin(), buf.end());
}

class content : public ::testing::Test {
 protected:
  void start(std::vector<std::string> args) {
    args.insert(args.begin(), {"--access-log", "false"});
    server_ = std::make_unique<pixhive_server>(args);
    alice_ = create_and_login(*server_, "alice");
    bob_ = create_and_login(*server_, "bob");
    admin_ = create_and_login(*server_, "root", true);
  }
  reply get(const std::string& target, const std::string& token) {
    return call(server_->port(), verb::get, target, nullptr, token);
  }
  reply post(const std::string& target, const std::string& token) {
    return call(server_->port(), verb::post, target, nullptr, token);
  }
  std::string upload(const std::string& bytes, const std::string& token,
                     const std::string& caption) {
    return upload_photo(server_->port(), token, bytes, "?caption=" + caption);
  }
  /// The photo as its owner sees it once processing is done with it.
  json settled(const std::string& id, const std::string& token) {
    return settled_photo(server_->port(), id, token);
  }
  /// The ids of the photo cards in a list answer ({"items": [...]}).
  std::vector<std::string> ids_in(const reply& r) {
    std::vector<std::string> out;
    auto j = r.json();
    if (j.is_object() && j.contains("items"))
      for (auto& item : j["items"])
        if (item.contains("id")) out.push_back(item["id"].get<std::string>());
    return out;
  }
  bool listed(const reply& r, const std::string& id) {
    auto ids = ids_in(r);
    return std::find(ids.begin(), ids.end(), id) != ids.end();
  }
  bool in_profile(const std::string& id, const std::string& token) {
    auto j = get("/api/v1/users/alice/photos", token).json();
    for (auto& p : j["photos"])
      if (p["id"] == id) return true;
    return false;
  }
  std::vector<json> notifications(const std::string& token) {
    auto j = get("/api/v1/notifications", token).json();
    return j.contains("notifications") ? j["notifications"].get<std::vector<json>>()
                                       : std::vector<json>{};
  }

  std::unique_ptr<pixhive_server> server_;
  std::string alice_, bob_, admin_;
};

bool labelled(const json& list, const std::string& label) {
  for (const auto& d : list)
    if (d.value("label", "") == label) return true;
  return false;
}

}  // namespace

TEST_F(content, sample_photos_are_tagged_with_what_they_show_and_found_by_search_and_tag_pages) {
  auto dog = sample("dog.jpg"), person = sample("person.jpg"), face = sample("messi5.jpg");
  if (dog.empty() || person.empty() || face.empty())
    PIXHIVE_SKIP_MISSING("skipping: no sample photos (scripts/fetch-photos)");
  start({});
  auto dog_id = upload(dog, alice_, "my%20pet");
  auto person_id = upload(person, alice_, "a%20ride");
  auto face_id = upload(face, alice_, "match%20day");

  auto d = settled(dog_id, alice_);
  ASSERT_EQ(d["status"], "ready") << d.dump();
  EXPECT_TRUE(labelled(d["objects"], "dog")) << d["objects"].dump();
  EXPECT_NE(std::find(d["tags"].begin(), d["tags"].end(), "dog"), d["tags"].end()) << d.dump();
  for (const auto& o : d["objects"]) {
    EXPECT_GT(o["confidence"].get<double>(), 0.3);
    EXPECT_GT(o["box"]["width"].get<int>(), 0);
    EXPECT_LE(o["box"]["x"].get<int>() + o["box"]["width"].get<int>(), d["width"].get<int>());
  }
  auto p = settled(person_id, alice_);
  ASSERT_EQ(p["status"], "ready") << p.dump();
  EXPECT_TRUE(labelled(p["objects"], "person")) << p["objects"].dump();
  auto f = settled(face_id, alice_);
  ASSERT_EQ(f["status"], "ready") << f.dump();
  EXPECT_GE(f["faces"].size(), 1u) << f.dump();
  EXPECT_NE(std::find(f["tags"].begin(), f["tags"].end(), "face"), f["tags"].end()) << f.dump();

  // Another user finds the dog by its tag, in search and on the tag page.
  EXPECT_TRUE(eventually([&] { return listed(get("/api/v1/search?q=dog", bob_), dog_id); }))
      << get("/api/v1/search?q=dog", bob_).body;
  EXPECT_FALSE(listed(get("/api/v1/search?q=dog", bob_), face_id));
  EXPECT_TRUE(eventually([&] { return listed(get("/api/v1/tags/dog", bob_), dog_id); }))
      << get("/api/v1/tags/dog", bob_).body;
  EXPECT_TRUE(eventually([&] { return listed(get("/api/v1/tags/person", bob_), person_id); }));
  // None of them is held; a footballer in kit may be queued for review, never held.
  EXPECT_EQ(server_->metric("pixhive_moderation_verdicts_total{verdict=\"held\"}"), 0);
  auto queue = get("/api/v1/admin/moderation", admin_).json();
  for (const auto& item : queue["items"]) EXPECT_EQ(item["verdict"], "review") << item.dump();
}

TEST_F(content, held_photos_are_hidden_from_others_queued_for_admins_and_released_or_removed) {
  // porn + hentai >= 0 holds every upload.
  start({"--moderation-block", "0"});
  ASSERT_EQ(call(server_->port(), verb::put, "/api/v1/users/alice/follow", nullptr, bob_).status,
            200);
  auto first = upload(made_photo(1), alice_, "%23sunset%20one");
  auto second = upload(made_photo(2), alice_, "%23sunset%20two");
  for (const auto& id : {first, second}) {
    auto p = settled(id, alice_);
    ASSERT_EQ(p["status"], "held") << p.dump();
    EXPECT_NE(p["status_reason"].get<std::string>().find("held for review"), std::string::npos);
    // Nobody else sees it: not the photo, its bytes, the profile, feeds or search.
    EXPECT_EQ(get("/api/v1/photos/" + id, bob_).status, 404);
    EXPECT_EQ(get("/api/v1/photos/" + id + "/variants/thumbnail", bob_).status, 404);
    EXPECT_EQ(get("/api/v1/photos/" + id, "").status, 404);
    EXPECT_FALSE(in_profile(id, bob_));
    EXPECT_TRUE(in_profile(id, alice_));
  }
  EXPECT_TRUE(get("/api/v1/feed/home", bob_).json()["items"].empty());
  EXPECT_TRUE(get("/api/v1/feed/public", "").json()["items"].empty());
  EXPECT_TRUE(get("/api/v1/search?q=sunset", bob_).json()["items"].empty());
  EXPECT_TRUE(get("/api/v1/tags/sunset", bob_).json()["items"].empty());

  // The queue is for admins only, with the scores.
  EXPECT_EQ(get("/api/v1/admin/moderation", alice_).status, 403);
  EXPECT_EQ(post("/api/v1/admin/moderation/" + first + "/approve", alice_).status, 403);
  auto queue = get("/api/v1/admin/moderation", admin_);
  ASSERT_EQ(queue.status, 200) << queue.body;
  auto q = queue.json();
  EXPECT_EQ(q["pending"], 2);
  ASSERT_EQ(q["items"].size(), 2u) << q.dump();
  for (const auto& item : q["items"]) {
    EXPECT_EQ(item["verdict"], "held");
    EXPECT_EQ(item["state"], "pending");
    EXPECT_EQ(item["owner"]["username"], "alice");
    double sum = 0;
    for (const char* k : {"drawing", "hentai", "neutral", "porn", "sexy"})
      sum += item["scores"][k].get<double>();
    EXPECT_NEAR(sum, 1.0, 1e-3);
  }
  EXPECT_EQ(server_->metric("pixhive_moderation_queue_length"), 2);
  EXPECT_EQ(server_->metric("pixhive_moderation_verdicts_total{verdict=\"held\"}"), 2);
  // Admins are told, and the owner learns why.
  EXPECT_TRUE(eventually([&] {
    auto n = notifications(admin_);
    return std::count_if(n.begin(), n.end(),
                         [](const json& x) { return x["kind"] == "moderation"; }) == 2;
  }));
  EXPECT_TRUE(eventually([&] {
    auto n = notifications(alice_);
    return std::any_of(n.begin(), n.end(), [](const json& x) { return x["kind"] == "photo_held"; });
  }));
  auto bobs = notifications(bob_);
  EXPECT_TRUE(std::none_of(bobs.begin(), bobs.end(),
                           [](const json& x) { return x["kind"] == "moderation"; }));

  // Approve: the photo is released into feeds and search.
  auto approved = post("/api/v1/admin/moderation/" + first + "/approve", admin_);
  ASSERT_EQ(approved.status, 200) << approved.body;
  EXPECT_EQ(approved.json()["state"], "approved");
  EXPECT_EQ(approved.json()["decided_by"]["username"], "root");
  EXPECT_GT(approved.json()["decided_at"].get<int64_t>(), 0);
  auto released = get("/api/v1/photos/" + first, bob_);
  ASSERT_EQ(released.status, 200);
  EXPECT_EQ(released.json()["status"], "ready");
  EXPECT_TRUE(eventually([&] { return listed(get("/api/v1/search?q=sunset", bob_), first); }));
  EXPECT_TRUE(eventually([&] { return listed(get("/api/v1/feed/home", bob_), first); }));
  EXPECT_TRUE(in_profile(first, bob_));
  // The same decision again changes nothing; the other one is refused.
  EXPECT_EQ(post("/api/v1/admin/moderation/" + first + "/approve", admin_).status, 200);
  EXPECT_EQ(post("/api/v1/admin/moderation/" + first + "/reject", admin_).status, 409);

  // Reject: the photo is gone, for its owner too.
  auto rejected = post("/api/v1/admin/moderation/" + second + "/reject", admin_);
  ASSERT_EQ(rejected.status, 200) << rejected.body;
  EXPECT_EQ(rejected.json()["state"], "rejected");
  EXPECT_EQ(get("/api/v1/photos/" + second, alice_).status, 404);
  EXPECT_FALSE(listed(get("/api/v1/search?q=sunset", bob_), second));

  // Every decision stays on record, with its admin and time.
  auto all = get("/api/v1/admin/moderation?state=all", admin_).json();
  EXPECT_EQ(all["pending"], 0);
  ASSERT_EQ(all["items"].size(), 2u);
  for (const auto& item : all["items"]) {
    EXPECT_EQ(item["decided_by"]["username"], "root");
    EXPECT_EQ(item["state"], item["photo_id"] == first ? "approved" : "rejected");
  }
  EXPECT_TRUE(get("/api/v1/admin/moderation", admin_).json()["items"].empty());
  EXPECT_EQ(server_->metric("pixhive_moderation_queue_length"), 0);
  EXPECT_EQ(server_->metric("pixhive_moderation_decisions_total{decision=\"approved\"}"), 1);
  EXPECT_EQ(server_->metric("pixhive_moderation_decisions_total{decision=\"rejected\"}"), 1);
  EXPECT_EQ(post("/api/v1/admin/moderation/999/approve", admin_).status, 404);
  EXPECT_EQ(get("/api/v1/admin/moderation?state=maybe", admin_).status, 400);
}

TEST_F(content, a_review_verdict_keeps_the_photo_visible_and_queues_it) {
  // Nothing is held (porn + hentai never reaches 2); sexy >= 0 queues every upload for review.
  start({"--moderation-block", "2", "--moderation-review", "0"});
  auto id = upload(made_photo(3), alice_, "%23beach");
  auto p = settled(id, alice_);
  ASSERT_EQ(p["status"], "ready") << p.dump();
  EXPECT_EQ(get("/api/v1/photos/" + id, bob_).status, 200);
  EXPECT_TRUE(eventually([&] { return listed(get("/api/v1/search?q=beach", bob_), id); }));
  auto q = get("/api/v1/admin/moderation", admin_).json();
  ASSERT_EQ(q["items"].size(), 1u) << q.dump();
  EXPECT_EQ(q["items"][0]["verdict"], "review");
  auto approved = post("/api/v1/admin/moderation/" + id + "/approve", admin_);
  ASSERT_EQ(approved.status, 200) << approved.body;
  EXPECT_EQ(get("/api/v1/photos/" + id, bob_).json()["status"], "ready");
  EXPECT_EQ(server_->metric("pixhive_moderation_verdicts_total{verdict=\"review\"}"), 1);
}

TEST(content_startup, a_missing_or_corrupt_model_file_stops_the_process_with_a_clear_message) {
  temp_dir data, models;
  auto run = [&](const std::string& dir) {
    child_process p({pixhive_binary(), "all", "--port", "0", "--address", "127.0.0.1", "--data-dir",
                     data.path(), "--models", dir});
    auto code = p.wait_exit(std::chrono::seconds(60));
    EXPECT_TRUE(code.has_value()) << "pixhive kept running without its models";
    if (!code) p.signal(SIGKILL);
    EXPECT_NE(code.value_or(0), 0);
    return p.output();
  };
  auto missing = run(models.path());
  EXPECT_NE(missing.find("is missing: run scripts/fetch-models"), std::string::npos) << missing;
  EXPECT_EQ(missing.find("\"listening\""), std::string::npos) << missing;

  // Every model present, one of them damaged.
  std::string source = std::string(PIXHIVE_SOURCE_DIR) + "/.cache/models";
  for (const auto& entry : fs::directory_iterator(source))
    if (entry.path().extension() == ".onnx")
      fs::copy_file(entry.path(), models.path() + "/" + entry.path().filename().string());
  fs::resize_file(models.path() + "/nanodet.onnx",
                  fs::file_size(models.path() + "/nanodet.onnx") / 2);
  auto corrupt = run(models.path());
  EXPECT_NE(corrupt.find("nanodet.onnx is corrupt"), std::string::npos) << corrupt;
}
