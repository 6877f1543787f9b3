// What a hostile client may try against a running all-in-one `pixhive`: deep JSON, decompression
// bombs, slow or unauthenticated bodies, connection floods, descriptor exhaustion, guessing and
// floods of cheap requests. Each test attacks and then checks the server still serves.
#include <sys/resource.h>

#include <filesystem>
#include <fstream>
#include <thread>

#include <gtest/gtest.h>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "images.hpp"
#include "pixhive/core/ids.hpp"
#include "pixhive/core/jwt.hpp"
#include "support.hpp"

using namespace pixhive::testing;
using nlohmann::json;
using verb = bhttp::verb;
using namespace std::chrono_literals;

namespace {

std::string nested(size_t depth) {
  return std::string(depth, '[') + std::string(depth, ']');
}

std::string png_of(const cv::Mat& img) {
  std::vector<uchar> buf;
  cv::imencode(".png", img, buf);
  return {buf.begin(), buf.end()};
}

reply send(uint16_t port, verb method, const std::string& target, const std::string& body,
           std::map<std::string, std::string> headers) {
  http_connection conn{port};
  return conn.request(method, target, body, std::move(headers));
}

std::map<std::string, std::string> bearer(const std::string& token,
                                          std::map<std::string, std::string> more = {}) {
  more["Authorization"] = "Bearer " + token;
  return more;
}

/// The status code of a raw HTTP response ("HTTP/1.1 401 …" → 401), 0 when there is none.
int status_of(const std::string& raw) {
  if (raw.rfind("HTTP/1.1 ", 0) != 0 || raw.size() < 12) return 0;
  return std::atoi(raw.c_str() + 9);
}

/// A log line count of `event` in what the server printed.
size_t log_lines(pixhive_server& s, const std::string& event) {
  auto out = s.process().output();
  size_t n = 0, pos = 0;
  auto needle = "\"event\":\"" + event + "\"";
  while ((pos = out.find(needle, pos)) != std::string::npos) ++n, pos += needle.size();
  return n;
}

bool healthy(uint16_t port) {
  try {
    return call(port, verb::get, "/healthz").status == 200;
  } catch (const std::exception&) {
    return false;
  }
}

}  // namespace

TEST(hardening, deep_json_is_refused_at_every_entry_point) {
  pixhive_server server{{"--access-log", "false"}};
  auto alice = create_and_login(server, "alice");
  auto port = server.port();
  std::map<std::string, std::string> json_type{{"Content-Type", "application/json"}};
  // Request bodies: public, signed in, and the job list of a stored photo.
  auto signup = send(port, verb::post, "/api/v1/auth/signup", nested(5000), json_type);
  EXPECT_EQ(signup.status, 400);
  EXPECT_EQ(signup.error_code(), "json_too_deep");
  auto patch = send(port, verb::patch, "/api/v1/users/me", nested(5000), bearer(alice, json_type));
  EXPECT_EQ(patch.status, 400);
  EXPECT_EQ(patch.error_code(), "json_too_deep");
  auto up = upload(port, alice, make_bmp(4, 4), "", "image/bmp");
  ASSERT_EQ(up.status, 201) << up.body;
  auto photo = up.json()["id"].get<std::string>();
  auto jobs = send(port, verb::post, "/api/v1/photos/" + photo + "/jobs", nested(20000),
                   bearer(alice, json_type));
  EXPECT_EQ(jobs.status, 400);
  EXPECT_EQ(jobs.error_code(), "json_too_deep");
  // Multipart `params`: the request that killed the process. Deep but small is too deep; the
  // 200,000 levels of the report are larger than any form field may be.
  for (auto [depth, code] : {std::pair{30000, "json_too_deep"}, {200000, "field_too_long"}}) {
    form f;
    f.file("image", png_of(cv::Mat(8, 8, CV_8UC3, cv::Scalar(9, 9, 9))))
        .field("operation", "invert")
        .field("params", nested(depth));
    auto r = send(port, verb::post, "/api/v1/process", f.done(),
                  bearer(alice, {{"Content-Type", f.type()}}));
    EXPECT_EQ(r.status, 400) << depth;
    EXPECT_EQ(r.error_code(), code) << depth;
  }
  EXPECT_TRUE(healthy(port));
}

TEST(hardening, failed_verification_reveals_nothing) {
  pixhive_server server{{"--access-log", "false"}};
  create_and_login(server, "alice");  // verified
  auto verify = [&](const std::string& name) {
    return call(server.port(), verb::post, "/api/v1/auth/verify",
                {{"username", name}, {"code", "000000"}});
  };
  auto known = verify("alice");
  auto unknown = verify("nobody_at_all");
  EXPECT_EQ(known.status, 400);
  EXPECT_EQ(known.error_code(), "invalid_code");
  EXPECT_EQ(known.body.find("alice@example.com"), std::string::npos) << known.body;
  EXPECT_FALSE(known.json().contains("user"));
  EXPECT_FALSE(known.json().contains("email"));
  EXPECT_EQ(known.json()["error"]["message"], unknown.json()["error"]["message"]);
  EXPECT_EQ(known.status, unknown.status);
}

TEST(hardening, unauthenticated_bodies_are_refused_before_they_are_read) {
  pixhive_server server{{"--access-log", "false"}};
  auto alice = create_and_login(server, "alice");
  const std::string head =
      "POST /api/v1/photos HTTP/1.1\r\nHost: x\r\nContent-Type: image/jpeg\r\n"
      "Content-Length: 26214400\r\n";
  // Without a token: the answer comes after the header, while the client is still sending.
  {
    raw_connection c{server.port()};
    ASSERT_TRUE(c.send(head + "\r\n"));
    c.send(std::string(64 * 1024, 'x'));
    auto answer = c.read(30s, "\r\n\r\n");
    EXPECT_EQ(status_of(answer), 401) << answer;
    EXPECT_NE(answer.find("Connection: close"), std::string::npos) << answer;
    // The server does not go on reading: a few MB more cannot all be taken.
    std::string chunk(1024 * 1024, 'y');
    int sent = 0;
    while (sent < 25 && c.send(chunk)) ++sent;
    EXPECT_LT(sent, 25) << "the server read the whole refused body";
  }
  // With Expect: 100-continue the refusal replaces the 100, so no byte of the body is sent.
  {
    raw_connection c{server.port()};
    ASSERT_TRUE(c.send(head + "Expect: 100-continue\r\n\r\n"));
    auto answer = c.read(30s, "\r\n\r\n");
    EXPECT_EQ(status_of(answer), 401) << answer;
  }
  // A user on an admin route with a body: 403 from the header alone.
  {
    raw_connection c{server.port()};
    ASSERT_TRUE(c.send("PUT /api/v1/admin/cache HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " +
                       alice +
                       "\r\nContent-Type: application/json\r\nContent-Length: 10000\r\n"
                       "Expect: 100-continue\r\n\r\n"));
    EXPECT_EQ(status_of(c.read(30s, "\r\n\r\n")), 403);
  }
  EXPECT_TRUE(healthy(server.port()));
}

TEST(hardening, tiff_with_duplicate_dimensions_cannot_exhaust_memory) {
  pixhive_server server{{"--access-log", "false"}};
  auto alice = create_and_login(server, "alice");
  // 27000 x 27000 x 3 bytes: 2.2 GB if decoded, under OpenCV's own 2^30-pixel default.
  auto bomb = make_tiff_with_duplicate_dimensions(27000, 27000);
  ASSERT_LT(bomb.size(), 8000u);
  auto up = upload(server.port(), alice, bomb, "", "image/tiff");
  EXPECT_EQ(up.status, 422) << up.body;
  EXPECT_EQ(up.error_code(), "too_many_pixels");
  form f;
  f.file("image", bomb).field("operation", "invert");
  auto processed = send(server.port(), verb::post, "/api/v1/process", f.done(),
                        bearer(alice, {{"Content-Type", f.type()}}));
  EXPECT_EQ(processed.status, 422) << processed.body;
  EXPECT_TRUE(healthy(server.port()));
  EXPECT_LT(peak_rss_kb(server.process().pid()), 1'500'000);
  // The decoders themselves carry the limit: OpenCV read it from the environment at load.
  std::ifstream env{"/proc/" + std::to_string(server.process().pid()) + "/environ"};
  std::string all((std::istreambuf_iterator<char>(env)), std::istreambuf_iterator<char>());
  EXPECT_NE(all.find(std::string("OPENCV_IO_MAX_IMAGE_PIXELS=100000000\0", 37)), std::string::npos);
}

TEST(hardening, metrics_are_not_on_the_public_port) {
  pixhive_server server{{"--access-log", "false"}};
  ASSERT_NE(server.metrics_port(), 0);
  ASSERT_NE(server.metrics_port(), server.port());
  EXPECT_EQ(call(server.port(), verb::get, "/metrics").status, 404);
  EXPECT_EQ(call(server.port(), verb::get, "//metrics").status, 404);
  EXPECT_EQ(call(server.port(), verb::get, "/api/v1//operations").status, 404);
  EXPECT_EQ(call(server.metrics_port(), verb::get, "/metrics").status, 200);
  EXPECT_EQ(call(server.metrics_port(), verb::get, "/readyz").status, 200);
  // Error bodies name the request id the response carries.
  auto missing = call(server.port(), verb::get, "/api/v1/nope");
  EXPECT_EQ(missing.json()["error"]["request_id"], missing.headers["X-Request-Id"]);
}

TEST(hardening, connections_are_capped_per_address_and_slow_headers_dropped) {
  pixhive_server server{
      {"--access-log", "false", "--max-connections-per-ip", "4", "--header-timeout", "1s"}};
  std::vector<std::unique_ptr<raw_connection>> held;
  for (int i = 0; i < 4; ++i) {
    held.push_back(std::make_unique<raw_connection>(server.port()));
    held.back()->send("GET /healthz HTTP/1.1\r\nHo");  // half a header
  }
  // The fifth from the same address is closed at once; another address is served.
  raw_connection fifth{server.port()};
  EXPECT_TRUE(fifth.closed_within(3s));
  raw_connection other{server.port(), "127.0.0.2"};
  other.send("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_EQ(status_of(other.read(30s, "\r\n\r\n")), 200);
  // Half a header is dropped at the header timeout, which frees the address's slots.
  for (auto& c : held) EXPECT_TRUE(c->closed_within(5s));
  held.clear();
  EXPECT_TRUE(eventually([&] { return healthy(server.port()); }));
  EXPECT_LE(log_lines(server, "connection_refused"), 3u);
}

TEST(hardening, a_stalled_body_is_dropped) {
  pixhive_server server{{"--access-log", "false", "--body-timeout", "1s"}};
  raw_connection c{server.port()};
  c.send(
      "POST /api/v1/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
      "Content-Length: 100\r\n\r\n{\"login\":");
  EXPECT_TRUE(c.closed_within(5s));
}

TEST(hardening, accept_backs_off_when_descriptors_run_out) {
  pixhive_server server{{"--access-log", "false"}};
  auto pid = server.process().pid();
  auto open_fds =
      std::distance(std::filesystem::directory_iterator("/proc/" + std::to_string(pid) + "/fd"),
                    std::filesystem::directory_iterator{});
  // The container default of 1024, scaled down: a few more descriptors than the server holds.
  rlimit before{};
  ASSERT_EQ(::prlimit(pid, RLIMIT_NOFILE, nullptr, &before), 0);
  rlimit low{static_cast<rlim_t>(open_fds + 8), before.rlim_max};
  ASSERT_EQ(::prlimit(pid, RLIMIT_NOFILE, &low, nullptr), 0);
  std::vector<std::unique_ptr<raw_connection>> flood;
  for (int i = 0; i < 60; ++i) flood.push_back(std::make_unique<raw_connection>(server.port()));
  // The first failed accept, however long a loaded machine takes to get to it; then give a
  // spinning accept loop time to show itself: it would log thousands of lines.
  EXPECT_TRUE(eventually([&] { return log_lines(server, "accept_failed") >= 1; }, 30s));
  EXPECT_FALSE(eventually([&] { return log_lines(server, "accept_failed") > 10; }, 2s));
  flood.clear();
  ASSERT_EQ(::prlimit(pid, RLIMIT_NOFILE, &before, nullptr), 0);
  EXPECT_TRUE(eventually([&] { return healthy(server.port()); }, 10s))
      << server.process().output().substr(0, 6000);
}

TEST(hardening, rate_limits_use_the_client_address_behind_a_trusted_proxy) {
  pixhive_server server{{"--access-log", "false", "--rate-limit-login", "3/min",
                         "--trusted-proxies", "127.0.0.1/32"}};
  auto login_from = [&](const std::string& client, const std::string& source = "127.0.0.1") {
    raw_connection c{server.port(), source};
    std::string body = R"({"login":"x_nobody","password":"wrong password"})";
    c.send("POST /api/v1/auth/login HTTP/1.1\r\nHost: x\r\nX-Forwarded-For: " + client +
           "\r\nContent-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) +
           "\r\n\r\n" + body);
    return c.read(30s, "\r\n\r\n");
  };
  for (int i = 0; i < 3; ++i) EXPECT_EQ(status_of(login_from("203.0.113.5")), 401);
  auto limited = login_from("203.0.113.5");
  EXPECT_EQ(status_of(limited), 429) << limited;
  EXPECT_NE(limited.find("Retry-After: "), std::string::npos);
  // Another client behind the same proxy has its own budget.
  EXPECT_EQ(status_of(login_from("198.51.100.7")), 401);
  // A peer that is not a trusted proxy cannot choose its address by header.
  for (int i = 0; i < 3; ++i)
    EXPECT_EQ(status_of(login_from("192.0.2." + std::to_string(i), "127.0.0.2")), 401);
  EXPECT_EQ(status_of(login_from("192.0.2.99", "127.0.0.2")), 429);
}

TEST(hardening, a_stranger_cannot_lock_the_owner_out) {
  pixhive_server server{{"--access-log", "false", "--trusted-proxies", "127.0.0.1"}};
  create_and_login(server, "bob", false, "bobs right password");
  auto login = [&](const std::string& client, const std::string& password) {
    http_connection c{server.port()};
    return c.request(verb::post, "/api/v1/auth/login",
                     json{{"login", "bob"}, {"password", password}}.dump(),
                     {{"Content-Type", "application/json"}, {"X-Forwarded-For", client}});
  };
  for (int i = 0; i < 5; ++i)
    EXPECT_EQ(login("203.0.113.66", "guess " + std::to_string(i)).status, 401);
  EXPECT_EQ(login("203.0.113.66", "bobs right password").status, 429);
  EXPECT_EQ(login("198.51.100.1", "bobs right password").status, 200);
}

TEST(hardening, no_log_line_of_a_whole_session_holds_a_credential) {
  pixhive_server server{{"--access-log", "true", "--log-level", "debug"}};
  const std::string password = "correct horse battery";
  auto s = call(server.port(), verb::post, "/api/v1/auth/signup",
                {{"username", "logan"}, {"email", "logan@example.com"}, {"password", password}});
  ASSERT_EQ(s.status, 201) << s.body;
  auto code = latest_code(server.data_dir(), "logan@example.com");
  ASSERT_EQ(call(server.port(), verb::post, "/api/v1/auth/verify",
                 {{"username", "logan"}, {"code", code}})
                .status,
            200);
  auto login = call(server.port(), verb::post, "/api/v1/auth/login",
                    {{"login", "logan"}, {"password", password}})
                   .json();
  std::string access = login["access_token"], refresh = login["refresh_token"];
  auto refreshed =
      call(server.port(), verb::post, "/api/v1/auth/refresh", {{"refresh_token", refresh}}).json();
  std::string access2 = refreshed["access_token"];
  auto up = upload(server.port(), access2, make_bmp(32, 24), "", "image/bmp");
  ASSERT_EQ(up.status, 201) << up.body;
  std::string photo = up.json()["id"];
  auto job = call(server.port(), verb::post, "/api/v1/photos/" + photo + "/jobs",
                  {{"operations", {{{"name", "invert"}}}}}, access2);
  ASSERT_EQ(job.status, 202) << job.body;
  std::string job_id = job.json()["jobs"][0]["id"];
  auto ticket =
      call(server.port(), verb::post, "/api/v1/jobs/" + job_id + "/events/ticket", nullptr, access2)
          .json()["ticket"]
          .get<std::string>();
  auto stream =
      call(server.port(), verb::get, "/api/v1/jobs/" + job_id + "/events?ticket=" + ticket);
  EXPECT_EQ(stream.status, 200);
  auto reset = call(server.port(), verb::post, "/api/v1/auth/reset-request",
                    {{"email", "logan@example.com"}});
  EXPECT_EQ(reset.status, 202);
  ASSERT_EQ(call(server.port(), verb::post, "/api/v1/auth/logout",
                 {{"refresh_token", refreshed["refresh_token"]}})
                .status,
            204);
  auto log = server.process().output();
  ASSERT_NE(log.find("\"path\":\"/api/v1/jobs/" + job_id + "/events\""), std::string::npos)
      << "the access log is on";
  for (const auto& secret :
       {access, refresh, access2, refreshed["refresh_token"].get<std::string>(), ticket, password})
    EXPECT_EQ(log.find(secret), std::string::npos) << "a credential is in the log: " << secret;
  auto mails = mails_to(server.data_dir(), "logan@example.com");
  ASSERT_FALSE(mails.empty());
  auto at = mails.front().find("#token=");
  ASSERT_NE(at, std::string::npos);
  auto reset_token = mails.front().substr(at + 7, 43);
  EXPECT_EQ(log.find(reset_token), std::string::npos) << "the reset token is in the log";
}

TEST(hardening, a_disabled_account_stops_working_within_seconds) {
  pixhive_server server{{"--access-log", "false"}};
  auto root = create_and_login(server, "root", true);
  auto carol = create_and_login(server, "carol");
  auto me = call(server.port(), verb::get, "/api/v1/users/me", nullptr, carol);
  ASSERT_EQ(me.status, 200);
  auto id = me.json()["id"].get<std::string>();
  ASSERT_EQ(call(server.port(), verb::post, "/api/v1/admin/users/" + id + "/disable", nullptr, root)
                .status,
            200);
  // Her access token has most of its 15 minutes left, and still stops working.
  EXPECT_TRUE(eventually(
      [&] {
        auto r = call(server.port(), verb::get, "/api/v1/feed/home", nullptr, carol);
        return r.status == 401 && r.error_code() == "token_revoked";
      },
      5s));
  ASSERT_EQ(call(server.port(), verb::post, "/api/v1/admin/users/" + id + "/enable", nullptr, root)
                .status,
            200);
  // Enabled again, she logs in anew; the token from before the disable stays refused.
  auto fresh = call(server.port(), verb::post, "/api/v1/auth/login",
                    {{"login", "carol"}, {"password", "correct horse battery"}});
  ASSERT_EQ(fresh.status, 200) << fresh.body;
  EXPECT_EQ(call(server.port(), verb::get, "/api/v1/users/me", nullptr,
                 fresh.json()["access_token"].get<std::string>())
                .status,
            200);
  EXPECT_EQ(call(server.port(), verb::get, "/api/v1/users/me", nullptr, carol).status, 401);
}

TEST(hardening, event_streams_are_capped_and_end_with_their_token) {
  pixhive_server server{{"--access-log", "false", "--max-event-streams-per-user", "1",
                         "--processing-workers", "1", "--result-cache-mb", "0"}};
  // A long queue of short jobs on one worker: the last one is still waiting when the token
  // expires. Short, because every request about a job waits for the worker to finish the job
  // in hand, and must be answered within the server's 10 s request deadline however loaded the
  // machine; many, so that the queue outlasts the steps below on a fast one.
  cv::Mat noise(300, 300, CV_8UC3);
  cv::randu(noise, cv::Scalar::all(0), cv::Scalar::all(255));
  auto img = png_of(noise);
  form f;
  for (int i = 0; i < 32; ++i) f.file("image", img);
  f.field("operation", "background_removal").field("params", R"({"iterations":3})");
  auto alice = create_and_login(server, "alice");
  auto jobs = send(server.port(), verb::post, "/api/v1/process", f.done(),
                   bearer(alice, {{"Content-Type", f.type()}}));
  ASSERT_EQ(jobs.status, 202) << jobs.body;
  auto job = jobs.json()["jobs"].back()["id"].get<std::string>();
  auto open_stream = [&](const std::string& token) {
    auto c = std::make_unique<raw_connection>(server.port());
    c->send("GET /api/v1/jobs/" + job + "/events HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " +
            token + "\r\n\r\n");
    return c;
  };
  // The cap, with alice's login token: its 15 minutes outlast both requests on any machine.
  auto first = open_stream(alice);
  ASSERT_EQ(status_of(first->read(30s, "\r\n\r\n")), 200);
  auto second = open_stream(alice);
  auto refused = second->read(30s, "\r\n\r\n");
  EXPECT_EQ(status_of(refused), 429) << refused;
  first.reset();  // gives the slot back once the server sees the close
  second.reset();

  // A stream ends when the token that opened it expires. Its token is made here (signed with the
  // server's key, as a login signs one) to expire `lifetime` seconds after this step: measured
  // from the step, not from the login. Should a loaded machine take that long to open the
  // stream, the server rightly refuses the expired token (401, by the clock), and a token twice
  // as long is tried; a 429 means the first stream's slot is not back yet.
  auto key = jwt_key(server);
  auto claims = pixhive::jwt::verify(alice, key, pixhive::unix_now());
  ASSERT_TRUE(claims) << "alice's token does not verify with " << server.data_dir() << "/jwt.key";
  int64_t lifetime = 2;
  std::unique_ptr<raw_connection> stream;
  std::string head;
  ASSERT_TRUE(eventually(
      [&] {
        claims->issued_at = pixhive::unix_now();
        claims->issued_at_ms = pixhive::unix_now_ms();
        claims->expires_at = claims->issued_at + lifetime;
        stream = open_stream(pixhive::jwt::sign(*claims, key));
        head = stream->read(30s, "\r\n\r\n");
        bool expired = status_of(head) == 401 && pixhive::unix_now() >= claims->expires_at;
        if (expired) lifetime *= 2;
        return status_of(head) != 429 && !expired;
      },
      60s))
      << head;
  ASSERT_EQ(status_of(head), 200) << head;
  // The stream closes when its token expires, before its job is done.
  EXPECT_TRUE(stream->closed_within(std::chrono::seconds(lifetime) + 15s));
  auto state = call(server.port(), verb::get, "/api/v1/jobs/" + job, nullptr, alice);
  EXPECT_NE(state.json()["status"], "succeeded") << state.body;
}

TEST(hardening, fields_are_bounded_and_checked) {
  pixhive_server server{{"--access-log", "false"}};
  auto alice = create_and_login(server, "alice");
  auto port = server.port();
  auto bad_caption = upload(port, alice, make_bmp(4, 4), "?caption=%FF%FEbad", "image/bmp");
  EXPECT_EQ(bad_caption.status, 400);
  EXPECT_EQ(bad_caption.error_code(), "invalid_utf8");
  auto overlong = call(port, verb::get, "/api/v1/search?q=%C0%AF");
  EXPECT_EQ(overlong.error_code(), "invalid_utf8");
  auto cursor = call(port, verb::get, "/api/v1/search?q=cat&cursor=9223372036854775807");
  EXPECT_EQ(cursor.status, 400);
  EXPECT_EQ(cursor.error_code(), "invalid_cursor");
  auto nul = call(port, verb::post, "/api/v1/photos/1/comments",
                  {{"text", std::string("hi\0there", 8)}}, alice);
  EXPECT_EQ(nul.error_code(), "invalid_text");
  form many;
  for (int i = 0; i < 150; ++i) many.field("operation", "invert");
  many.file("image", make_bmp(4, 4));
  auto parts = send(port, verb::post, "/api/v1/process", many.done(),
                    bearer(alice, {{"Content-Type", many.type()}}));
  EXPECT_EQ(parts.status, 400);
  EXPECT_EQ(parts.error_code(), "too_many_parts");
  // Every accepted format decodes: GIF (no decoder here) is refused at upload.
  auto gif = upload(port, alice, make_gif(2, 2), "", "image/gif");
  EXPECT_EQ(gif.status, 415);
  EXPECT_TRUE(healthy(port));
}

TEST(hardening, operations_stop_at_their_time_budget) {
  pixhive_server server{
      {"--access-log", "false", "--operation-timeout", "150ms", "--result-cache-mb", "0"}};
  auto alice = create_and_login(server, "alice");
  cv::Mat noise(700, 700, CV_8UC3);
  cv::randu(noise, cv::Scalar::all(0), cv::Scalar::all(255));
  form f;
  f.file("image", png_of(noise))
      .field("operation", "background_removal")
      .field("params", R"({"iterations":10})");
  auto r = send(server.port(), verb::post, "/api/v1/process", f.done(),
                bearer(alice, {{"Content-Type", f.type()}}));
  EXPECT_EQ(r.status, 503) << r.body;
  EXPECT_EQ(r.error_code(), "timeout");
  // The admission slot came back once the worker stopped.
  EXPECT_TRUE(eventually([&] {
    auto m = call(server.metrics_port(), verb::get, "/metrics").body;
    return m.find("pixhive_processing_adhoc_admitted 0") != std::string::npos;
  }));
}
