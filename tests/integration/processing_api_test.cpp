// The processing API over real HTTP against a real all-in-one `pixhive` (SQLite, blob folder,
// in-process bus): operations, ad-hoc processing with its cache and admission control, jobs and
// their live events, and the upload pipeline on real camera photos.
#include <thread>

#include <gtest/gtest.h>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "images.hpp"
#include "pixhive/core/ask.hpp"
#include "support.hpp"

using namespace pixhive;
using namespace pixhive::testing;
using nlohmann::json;
using verb = bhttp::verb;
using namespace std::chrono_literals;

namespace {

std::string png_of(const cv::Mat& img) {
  std::vector<uchar> buf;
  cv::imencode(".png", img, buf);
  return {buf.begin(), buf.end()};
}

cv::Mat decode(const std::string& bytes) {
  return cv::imdecode(
      cv::Mat(1, static_cast<int>(bytes.size()), CV_8UC1, const_cast<char*>(bytes.data())),
      cv::IMREAD_UNCHANGED);
}

cv::Mat test_image() {
  cv::Mat img(120, 160, CV_8UC3, cv::Scalar(20, 40, 60));
  cv::rectangle(img, cv::Rect(40, 30, 80, 60), cv::Scalar(250, 250, 250), cv::FILLED);
  return img;
}

class processing_api : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    server_ = new pixhive_server({"--access-log", "false", "--processing-workers", "2"});
    alice_ = new std::string(create_and_login(*server_, "alice"));
    bob_ = new std::string(create_and_login(*server_, "bob"));
  }
  static void TearDownTestSuite() {
    delete alice_;
    delete bob_;
    delete server_;
  }
  static uint16_t port() { return server_->port(); }

  static reply process(form& f, const std::string& token,
                       std::map<std::string, std::string> h = {}) {
    http_connection conn{port()};
    h["Content-Type"] = f.type();
    if (!token.empty()) h["Authorization"] = "Bearer " + token;
    return conn.request(verb::post, "/api/v1/process", f.done(), h);
  }

  static reply get(const std::string& target, const std::string& token) {
    http_connection conn{port()};
    std::map<std::string, std::string> h;
    if (!token.empty()) h["Authorization"] = "Bearer " + token;
    return conn.request(verb::get, target, {}, h);
  }

  static reply upload(const std::string& bytes, const std::string& token) {
    return pixhive::testing::upload(port(), token, bytes);
  }

  /// Polls a resource until `done(json)` holds (the work happens in the server's workers).
  static json until(const std::string& target, const std::string& token,
                    const std::function<bool(const json&)>& done) {
    json j;
    EXPECT_TRUE(eventually(
        [&] {
          j = get(target, token).json();
          return done(j);
        },
        60s))
        << target << " never settled: " << j.dump();
    return j;
  }

  static json settled_photo(const std::string& id, const std::string& token) {
    return pixhive::testing::settled_photo(port(), id, token);
  }

  static pixhive_server* server_;
  static std::string* alice_;
  static std::string* bob_;
};

pixhive_server* processing_api::server_ = nullptr;
std::string* processing_api::alice_ = nullptr;
std::string* processing_api::bob_ = nullptr;

}  // namespace

TEST_F(processing_api, operations_are_listed_with_their_parameters) {
  auto r = get("/api/v1/operations", "");
  ASSERT_EQ(r.status, 200);
  auto ops = r.json()["operations"];
  ASSERT_EQ(ops.size(), 12u);
  json canny;
  for (auto& op : ops)
    if (op["name"] == "edge_detection") canny = op;
  ASSERT_FALSE(canny.is_null());
  EXPECT_EQ(canny["params"][0]["name"], "threshold1");
  EXPECT_EQ(canny["params"][0]["minimum"], 0);
  EXPECT_EQ(canny["params"][0]["maximum"], 1000);
  EXPECT_EQ(canny["params"][2]["odd"], true);
}

TEST_F(processing_api, process_returns_the_image_and_caches_the_result) {
  auto img = test_image();
  form f;
  f.file("image", png_of(img)).field("operation", "invert");
  auto first = process(f, *alice_);
  ASSERT_EQ(first.status, 200) << first.body;
  EXPECT_EQ(first.headers["Content-Type"], "image/png");
  EXPECT_EQ(first.headers["X-Cache"], "miss");
  auto inverted = decode(first.body);
  ASSERT_EQ(inverted.size(), img.size());
  cv::Mat expected;
  cv::bitwise_not(img, expected);
  EXPECT_EQ(cv::norm(inverted, expected, cv::NORM_INF), 0);

  form again;
  again.file("image", png_of(img)).field("operation", "invert");
  auto second = process(again, *alice_);
  ASSERT_EQ(second.status, 200);
  EXPECT_EQ(second.headers["X-Cache"], "hit");
  EXPECT_EQ(second.body, first.body);
  auto metrics = call(server_->metrics_port(), verb::get, "/metrics").body;
  EXPECT_NE(metrics.find("pixhive_processing_jobs_total{operation=\"invert\",result=\"cached\"}"),
            std::string::npos);
  EXPECT_NE(metrics.find("pixhive_processing_cache_hit_ratio"), std::string::npos);

  // The Accept header picks the format when the form does not.
  form jpeg;
  jpeg.file("image", png_of(img)).field("operation", "grayscale");
  auto j = process(jpeg, *alice_, {{"Accept", "image/jpeg"}});
  ASSERT_EQ(j.status, 200);
  EXPECT_EQ(j.headers["Content-Type"], "image/jpeg");
  EXPECT_EQ(decode(j.body).channels(), 1);
}

TEST_F(processing_api, bad_requests_name_what_is_wrong) {
  auto png = png_of(test_image());
  auto error_of = [&](form f) {
    auto r = process(f, *alice_);
    EXPECT_EQ(r.status, 400) << r.body;
    return r.json()["error"]["message"].get<std::string>();
  };
  EXPECT_NE(error_of(form{}
                         .file("image", png)
                         .field("operation", "gaussian_blur")
                         .field("params", R"({"kernel": 4})"))
                .find("'kernel' of gaussian_blur must be an odd integer in [1, 99]"),
            std::string::npos);
  EXPECT_NE(error_of(form{}.file("image", png).field("operation", "sharpen"))
                .find("unknown operation 'sharpen'"),
            std::string::npos);
  EXPECT_NE(error_of(form{}
                         .file("image", png)
                         .field("operation", "background_removal")
                         .field("format", "jpeg"))
                .find("png or webp"),
            std::string::npos);
  form no_token;
  no_token.file("image", png).field("operation", "invert");
  EXPECT_EQ(process(no_token, "").status, 401);
  form garbage;
  garbage.file("image", "%PDF-1.4 not an image").field("operation", "invert");
  auto g = process(garbage, *alice_);
  EXPECT_EQ(g.status, 415);
  EXPECT_NE(g.body.find("detected PDF document"), std::string::npos) << g.body;
  form empty_png;
  empty_png.file("image", make_png_header(64, 64)).field("operation", "invert");
  auto e = process(empty_png, *alice_);
  EXPECT_EQ(e.status, 422);
  EXPECT_EQ(e.error_code(), "undecodable_image");
  form bomb;
  bomb.file("image", make_png_header(40000, 40000)).field("operation", "invert");
  auto b = process(bomb, *alice_);
  EXPECT_EQ(b.status, 422);
  EXPECT_EQ(b.error_code(), "too_many_pixels");
}

TEST_F(processing_api, ocr_answers_json_unless_an_image_format_is_asked_for) {
  cv::Mat img(160, 800, CV_8UC3, cv::Scalar::all(255));
  cv::putText(img, "PIXHIVE ROCKS", cv::Point(20, 110), cv::FONT_HERSHEY_SIMPLEX, 2.4,
              cv::Scalar::all(0), 6, cv::LINE_AA);
  form f;
  f.file("image", png_of(img)).field("operation", "text_detection");
  auto r = process(f, *alice_);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.headers["Content-Type"], "application/json");
  EXPECT_NE(r.json()["text"].get<std::string>().find("PIXHIVE"), std::string::npos) << r.body;
  form annotated;
  annotated.file("image", png_of(img)).field("operation", "text_detection").field("format", "png");
  auto a = process(annotated, *alice_);
  ASSERT_EQ(a.status, 200);
  EXPECT_EQ(decode(a.body).size(), img.size());
}

TEST_F(processing_api, several_images_become_jobs_with_results) {
  auto img = test_image();
  cv::Mat small;
  cv::resize(img, small, cv::Size(80, 60));
  form f;
  f.file("image", png_of(img))
      .field("operation", "invert")
      .file("image", png_of(small))
      .field("operation", "edge_detection");
  auto r = process(f, *alice_);
  ASSERT_EQ(r.status, 202) << r.body;
  auto jobs = r.json()["jobs"];
  ASSERT_EQ(jobs.size(), 2u);
  for (auto& j : jobs) {
    auto id = j["id"].get<std::string>();
    auto done = until("/api/v1/jobs/" + id, *alice_,
                      [](const json& j) { return j["status"] == "succeeded"; });
    EXPECT_EQ(done["attempts"], 1);
    EXPECT_FALSE(done["worker"].is_null());
    auto result = get(done["result_url"].get<std::string>(), *alice_);
    ASSERT_EQ(result.status, 200);
    EXPECT_EQ(decode(result.body).cols, j["operation"] == "invert" ? 160 : 80);
    EXPECT_EQ(get("/api/v1/jobs/" + id, *bob_).status, 404) << "bob cannot see alice's job";
  }
  form all;
  all.file("image", png_of(img)).field("operation", "all");
  auto every = process(all, *alice_);
  ASSERT_EQ(every.status, 202);
  EXPECT_EQ(every.json()["jobs"].size(), 12u);
}

TEST_F(processing_api, a_real_camera_photo_becomes_ready_with_variants_tags_and_hash) {
  auto photo = real_photo();
  if (photo.empty())
    PIXHIVE_SKIP_MISSING(std::string("skipping: no real photos (scripts/fetch-photos)"));
  auto up = upload(photo, *alice_);
  ASSERT_EQ(up.status, 201) << up.body;
  auto id = up.json()["id"].get<std::string>();
  auto p = settled_photo(id, *alice_);
  ASSERT_EQ(p["status"], "ready") << p.dump();
  std::map<std::string, json> variants;
  for (auto& v : p["variants"]) variants[v["name"]] = v;
  ASSERT_TRUE(variants.count("thumbnail") && variants.count("thumbnail-webp"));
  ASSERT_TRUE(variants.count("display") && variants.count("display-webp"));
  EXPECT_EQ(variants["thumbnail"]["width"], 320);
  EXPECT_EQ(variants["thumbnail"]["height"], 320);
  EXPECT_EQ(
      std::max(variants["display"]["width"].get<int>(), variants["display"]["height"].get<int>()),
      1080);
  EXPECT_EQ(variants["display-webp"]["content_type"], "image/webp");
  EXPECT_FALSE(p["tags"].empty()) << p.dump();
  EXPECT_EQ(p["hash"].get<std::string>().size(), 16u);
  EXPECT_TRUE(p["duplicate_of"].is_null());
  auto thumb = get("/api/v1/photos/" + id + "/variants/thumbnail", *alice_);
  ASSERT_EQ(thumb.status, 200);
  EXPECT_EQ(decode(thumb.body).size(), cv::Size(320, 320));

  // The same picture again, re-encoded smaller: marked as a duplicate of the first.
  auto original = decode(photo);
  cv::Mat half;
  cv::resize(original, half, cv::Size(), 0.5, 0.5, cv::INTER_AREA);
  std::vector<uchar> buf;
  cv::imencode(".jpg", half, buf, {cv::IMWRITE_JPEG_QUALITY, 80});
  auto again = upload(std::string(buf.begin(), buf.end()), *alice_);
  ASSERT_EQ(again.status, 201);
  auto dup = settled_photo(again.json()["id"], *alice_);
  EXPECT_EQ(dup["status"], "ready");
  EXPECT_EQ(dup["duplicate_of"], id);
}

TEST_F(processing_api, an_undecodable_upload_ends_failed_with_its_reason) {
  // A PNG header that claims 64×64 pixels but has no image data passes the sniffing.
  auto up = upload(make_png_header(64, 64), *alice_);
  ASSERT_EQ(up.status, 201) << up.body;
  auto p = settled_photo(up.json()["id"], *alice_);
  EXPECT_EQ(p["status"], "failed");
  EXPECT_NE(p["status_reason"].get<std::string>().find("undecodable_image"), std::string::npos)
      << p.dump();
  auto pdf = upload("%PDF-1.5\n%\xe2\xe3\xcf\xd3\n1 0 obj", *alice_);
  EXPECT_EQ(pdf.status, 415);
  EXPECT_NE(pdf.body.find("detected PDF document"), std::string::npos);
}

TEST_F(processing_api, a_failed_photo_is_never_public_and_its_owner_may_retry_it) {
  auto up = upload(make_png_header(64, 64), *alice_);
  ASSERT_EQ(up.status, 201) << up.body;
  std::string id = up.json()["id"];
  ASSERT_EQ(settled_photo(id, *alice_)["status"], "failed");
  // Public by its upload's default, yet nobody but its owner learns it exists.
  for (const auto& token : {std::string(), *bob_}) {
    EXPECT_EQ(get("/api/v1/photos/" + id, token).status, 404);
    EXPECT_EQ(get("/api/v1/photos/" + id + "/original", token).status, 404);
    auto list = get("/api/v1/users/alice/photos", token).json();
    for (const auto& p : list["photos"]) EXPECT_NE(p["id"], id) << list.dump();
  }
  auto retry = [&](const std::string& token) {
    http_connection conn{port()};
    std::map<std::string, std::string> h;
    if (!token.empty()) h["Authorization"] = "Bearer " + token;
    return conn.request(verb::post, "/api/v1/photos/" + id + "/retry", {}, h);
  };
  EXPECT_EQ(retry("").status, 401);
  EXPECT_EQ(retry(*bob_).status, 404);
  auto again = retry(*alice_);
  ASSERT_EQ(again.status, 202) << again.body;
  EXPECT_EQ(again.json()["status"], "processing");
  // The pipeline ran again (and fails again: the bytes have not changed).
  EXPECT_EQ(settled_photo(id, *alice_)["status"], "failed");
  auto ok = upload(png_of(test_image()), *alice_);
  ASSERT_EQ(ok.status, 201);
  std::string ok_id = ok.json()["id"];
  ASSERT_EQ(settled_photo(ok_id, *alice_)["status"], "ready");
  http_connection conn{port()};
  auto ready = conn.request(verb::post, "/api/v1/photos/" + ok_id + "/retry", {},
                            {{"Authorization", "Bearer " + *alice_}});
  EXPECT_EQ(ready.status, 409) << ready.body;
}

TEST_F(processing_api, a_public_duplicate_does_not_name_a_private_original) {
  cv::Mat img(200, 260, CV_8UC3, cv::Scalar(90, 20, 150));
  cv::circle(img, cv::Point(130, 100), 60, cv::Scalar(10, 240, 240), cv::FILLED);
  auto first =
      pixhive::testing::upload(port(), *alice_, png_of(img), "?visibility=private", "image/png");
  ASSERT_EQ(first.status, 201) << first.body;
  std::string original = first.json()["id"];
  ASSERT_EQ(settled_photo(original, *alice_)["status"], "ready");
  auto second = upload(png_of(img), *alice_);
  ASSERT_EQ(second.status, 201);
  std::string copy = second.json()["id"];
  auto mine = settled_photo(copy, *alice_);
  ASSERT_EQ(mine["status"], "ready");
  EXPECT_EQ(mine["duplicate_of"], original);
  for (const auto& token : {std::string(), *bob_}) {
    auto seen = get("/api/v1/photos/" + copy, token);
    ASSERT_EQ(seen.status, 200) << seen.body;
    EXPECT_TRUE(seen.json()["duplicate_of"].is_null()) << seen.body;
    auto list = get("/api/v1/users/alice/photos", token).json();
    for (const auto& p : list["photos"])
      if (p["id"] == copy) EXPECT_TRUE(p["duplicate_of"].is_null()) << p.dump();
  }
}

TEST_F(processing_api, a_job_on_a_photo_streams_its_events_from_queued_to_succeeded) {
  cv::Mat img(300, 400, CV_8UC3, cv::Scalar(10, 200, 30));
  cv::circle(img, cv::Point(200, 150), 80, cv::Scalar(240, 240, 240), cv::FILLED);
  std::vector<uchar> buf;
  cv::imencode(".jpg", img, buf);
  auto up = upload(std::string(buf.begin(), buf.end()), *alice_);
  ASSERT_EQ(up.status, 201);
  auto photo_id = up.json()["id"].get<std::string>();
  ASSERT_EQ(settled_photo(photo_id, *alice_)["status"], "ready");

  auto submit = call(port(), verb::post, "/api/v1/photos/" + photo_id + "/jobs",
                     {{"operations",
                       {{{"name", "edge_detection"}, {"params", {{"aperture", 5}}}},
                        {{"name", "corner_detection"}}}}},
                     *alice_);
  ASSERT_EQ(submit.status, 202) << submit.body;
  auto job_id = submit.json()["jobs"][0]["id"].get<std::string>();
  EXPECT_EQ(call(port(), verb::post, "/api/v1/photos/" + photo_id + "/jobs",
                 {{"operations", {{{"name", "edge_detection"}}}}}, *bob_)
                .status,
            403);

  // The stream ends after the terminal event, so reading to the end reads the whole life.
  auto events = get("/api/v1/jobs/" + job_id + "/events", *alice_);
  ASSERT_EQ(events.status, 200);
  EXPECT_EQ(events.headers["Content-Type"], "text/event-stream");
  std::vector<std::string> kinds;
  std::istringstream lines{events.body};
  for (std::string line; std::getline(lines, line);)
    if (line.rfind("event: ", 0) == 0) kinds.push_back(line.substr(7));
  EXPECT_EQ(kinds, (std::vector<std::string>{"queued", "started", "succeeded"})) << events.body;
  EXPECT_NE(events.body.find("\"worker\""), std::string::npos);
  EXPECT_NE(events.body.find("\"run_ms\""), std::string::npos);
  EXPECT_NE(events.body.find("id: 3"), std::string::npos);

  auto job = get("/api/v1/jobs/" + job_id, *alice_).json();
  EXPECT_EQ(job["status"], "succeeded");
  auto variant = get(job["result_url"].get<std::string>(), *alice_);
  ASSERT_EQ(variant.status, 200);
  EXPECT_EQ(decode(variant.body).size(), img.size());
  auto list = get("/api/v1/photos/" + photo_id + "/jobs", *alice_);
  ASSERT_EQ(list.status, 200);
  EXPECT_EQ(list.json()["jobs"].size(), 2u);
  EXPECT_EQ(get("/api/v1/jobs/" + job_id + "/events", *bob_).status, 404);
  // A browser's EventSource cannot send headers: it opens the stream with a single-use ticket,
  // never with the access token in the URL (where proxies' access logs would keep it).
  EXPECT_EQ(get("/api/v1/jobs/" + job_id + "/events?access_token=" + *alice_, "").status, 401);
  auto ticket_for = [&](const std::string& job, const std::string& token) {
    http_connection conn{port()};
    return conn.request(verb::post, "/api/v1/jobs/" + job + "/events/ticket", {},
                        {{"Authorization", "Bearer " + token}});
  };
  EXPECT_EQ(ticket_for(job_id, *bob_).status, 404);
  auto issued = ticket_for(job_id, *alice_);
  ASSERT_EQ(issued.status, 200) << issued.body;
  std::string ticket = issued.json()["ticket"];
  EXPECT_EQ(issued.json()["events_url"], "/api/v1/jobs/" + job_id + "/events");
  EXPECT_EQ(ticket.find(*alice_), std::string::npos);
  auto by_ticket = get("/api/v1/jobs/" + job_id + "/events?ticket=" + ticket, "");
  EXPECT_EQ(by_ticket.status, 200);
  EXPECT_NE(by_ticket.body.find("event: succeeded"), std::string::npos);
  auto twice = get("/api/v1/jobs/" + job_id + "/events?ticket=" + ticket, "");
  EXPECT_EQ(twice.status, 401) << "a ticket works once";
  EXPECT_EQ(twice.error_code(), "invalid_ticket");
  // A ticket opens its own stream only, and no other route takes one.
  auto other = ticket_for(job_id, *alice_).json()["ticket"].get<std::string>();
  EXPECT_EQ(get("/api/v1/jobs/" + job_id + "?ticket=" + other, "").status, 401);
  auto tampered = other;
  tampered[tampered.size() / 2] = tampered[tampered.size() / 2] == 'A' ? 'B' : 'A';
  EXPECT_EQ(get("/api/v1/jobs/" + job_id + "/events?ticket=" + tampered, "").status, 401);
}

TEST(processing_fair_share, a_flood_of_jobs_neither_starves_uploads_nor_other_users) {
  // Two workers: one may run jobs, the other is kept for the upload pipeline.
  pixhive_server server{{"--access-log", "false", "--processing-workers", "2"}};
  auto alice = create_and_login(server, "alice");
  auto bob = create_and_login(server, "bob");
  auto send = [&](verb v, const std::string& target, const std::string& body,
                  std::map<std::string, std::string> h, const std::string& token) {
    http_connection conn{server.port()};
    h["Authorization"] = "Bearer " + token;
    return conn.request(v, target, body, h);
  };
  auto photo_of = [&](const std::string& token, int w, int h) {
    cv::Mat img(h, w, CV_8UC3);
    cv::randu(img, cv::Scalar::all(0), cv::Scalar::all(255));
    cv::circle(img, cv::Point(w / 2, h / 2), h / 3, cv::Scalar(20, 220, 40), cv::FILLED);
    return upload_photo(server.port(), token, png_of(img), "", "image/png");
  };
  auto flood_photo = photo_of(alice, 1000, 750);
  ASSERT_EQ(settled_photo(server.port(), flood_photo, alice)["status"], "ready");
  auto queued = [&] {
    auto backlog = send(verb::get, "/api/v1/photos/" + flood_photo + "/jobs", {}, {}, alice).json();
    int n = 0;
    for (const auto& j : backlog["jobs"]) n += j["status"] == "queued";
    return n;
  };

  // Alice queues 20 requests of 32 GrabCut runs: her quota admits 64 operations in flight.
  json ops = json::array();
  for (int i = 0; i < 32; ++i)
    ops.push_back({{"name", "background_removal"}, {"params", {{"method", "grabcut"}}}});
  int accepted = 0, refused = 0;
  for (int i = 0; i < 20; ++i) {
    auto r = send(verb::post, "/api/v1/photos/" + flood_photo + "/jobs",
                  json{{"operations", ops}}.dump(), {{"Content-Type", "application/json"}}, alice);
    if (r.status == 202) {
      ++accepted;
    } else {
      ++refused;
      EXPECT_EQ(r.status, 429) << r.body;
      EXPECT_EQ(r.error_code(), "too_many_jobs_in_flight");
      EXPECT_FALSE(r.headers["Retry-After"].empty());
    }
  }
  EXPECT_EQ(accepted, 2);
  EXPECT_EQ(refused, 18);

  // Bob's upload does not queue behind them: it is ready while most of alice's backlog still
  // waits. Measured against the backlog, not a clock: a loaded machine slows both alike.
  auto started = std::chrono::steady_clock::now();
  auto bobs = photo_of(bob, 640, 480);
  EXPECT_EQ(settled_photo(server.port(), bobs, bob, 120s)["status"], "ready");
  auto waiting = queued();
  std::cout << "[ FLOOD    ] bob's upload ready after "
            << std::chrono::duration_cast<std::chrono::milliseconds>(
                   std::chrono::steady_clock::now() - started)
                   .count()
            << " ms, with " << waiting << " of alice's jobs still queued\n";
  EXPECT_GT(waiting, 10) << "bob's upload was ready only after alice's backlog";
  // And his one job takes its turn before Alice's backlog: the next free turn is his.
  auto job = send(verb::post, "/api/v1/photos/" + bobs + "/jobs",
                  json{{"operations", {{{"name", "invert"}}}}}.dump(),
                  {{"Content-Type", "application/json"}}, bob);
  ASSERT_EQ(job.status, 202) << job.body;
  std::string job_id = job.json()["jobs"][0]["id"];
  EXPECT_TRUE(eventually(
      [&] {
        return send(verb::get, "/api/v1/jobs/" + job_id, {}, {}, bob).json().value("status", "") ==
               "succeeded";
      },
      60s));
  EXPECT_GT(queued(), 10) << "bob's job ran only after alice's backlog";
}

TEST(processing_admission, a_full_queue_answers_503_with_retry_after) {
  pixhive_server server{
      {"--access-log", "false", "--processing-workers", "1", "--process-queue", "1"}};
  auto token = create_and_login(server, "carol");
  cv::Mat big(1500, 1500, CV_8UC3);
  cv::randu(big, cv::Scalar::all(0), cv::Scalar::all(255));
  auto png = png_of(big);
  std::vector<std::thread> clients;
  std::mutex mtx;
  std::vector<reply> replies;
  for (int i = 0; i < 6; ++i)
    clients.emplace_back([&, i] {
      form f;
      // Different parameters each, so that no request is a cache hit.
      f.file("image", png)
          .field("operation", "median_blur")
          .field("params", json{{"kernel", 21 + 2 * i}}.dump());
      http_connection conn{server.port()};
      auto r = conn.request(verb::post, "/api/v1/process", f.done(),
                            {{"Content-Type", f.type()}, {"Authorization", "Bearer " + token}});
      std::lock_guard<std::mutex> g{mtx};
      replies.push_back(r);
    });
  for (auto& t : clients) t.join();
  int ok = 0, refused = 0;
  for (auto& r : replies) {
    if (r.status == 200) ++ok;
    if (r.status == 503) {
      ++refused;
      EXPECT_EQ(r.headers["Retry-After"], "1");
      EXPECT_EQ(r.error_code(), "overloaded");
    }
  }
  EXPECT_GE(ok, 1);
  EXPECT_GE(refused, 1);
  EXPECT_EQ(ok + refused, 6);
}

TEST(processing_admission, identical_requests_share_one_computation_and_hits_are_never_refused) {
  pixhive_server server{
      {"--access-log", "false", "--processing-workers", "1", "--process-queue", "1"}};
  auto token = create_and_login(server, "dave");
  cv::Mat big(1500, 1500, CV_8UC3);
  cv::randu(big, cv::Scalar::all(0), cv::Scalar::all(255));
  auto png = png_of(big);
  auto send = [&](const std::string& op, const json& params) {
    form f;
    f.file("image", png).field("operation", op).field("params", params.dump());
    http_connection conn{server.port()};
    return conn.request(verb::post, "/api/v1/process", f.done(),
                        {{"Content-Type", f.type()}, {"Authorization", "Bearer " + token}});
  };
  auto in_parallel = [&](int n) {
    std::vector<std::thread> clients;
    std::vector<reply> replies(n);
    for (int i = 0; i < n; ++i)
      clients.emplace_back([&, i] { replies[i] = send("median_blur", {{"kernel", 25}}); });
    for (auto& t : clients) t.join();
    return replies;
  };

  // Eight identical requests against a queue of one: one computes, the rest share its answer
  // (or, arriving after it, the cache's), and none is refused.
  auto first = in_parallel(8);
  for (auto& r : first) {
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(r.body, first[0].body);
  }
  EXPECT_EQ(
      server.metric(R"(pixhive_processing_jobs_total{operation="median_blur",result="succeeded"})"),
      1);
  EXPECT_EQ(server.metric("pixhive_processing_adhoc_joined_total") +
                server.metric(
                    R"(pixhive_processing_jobs_total{operation="median_blur",result="cached"})"),
            7);

  // With the only slot taken by other work (GrabCut: seconds), requests the cache answers still
  // get 200. The GrabCut itself succeeds within the ad-hoc time budget; on a machine too loaded
  // for that, it ends as the server ends any work past its budget (503 timeout), which is
  // accepted only when it really did run that long.
  std::thread busy{[&] {
    auto started = std::chrono::steady_clock::now();
    auto r = send("background_removal", json::object());
    if (r.status == 503 && r.error_code() == "timeout")
      EXPECT_GE(std::chrono::steady_clock::now() - started, default_request_timeout) << r.body;
    else
      EXPECT_EQ(r.status, 200) << r.body;
  }};
  ASSERT_TRUE(
      eventually([&] { return server.metric("pixhive_processing_adhoc_admitted") == 1; }, 60s));
  auto hits = in_parallel(8);
  busy.join();
  for (auto& r : hits) {
    EXPECT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(r.headers["X-Cache"], "hit");
    EXPECT_EQ(r.body, first[0].body);
  }
  EXPECT_EQ(
      server.metric(R"(pixhive_processing_jobs_total{operation="median_blur",result="succeeded"})"),
      1);
}
