// HTTP-level behaviour shared by every route: limits, content types, routing errors, request ids,
// error bodies, cache headers, health, metrics and the access log.
#include <gtest/gtest.h>

#include <sstream>

#include <boost/asio/write.hpp>

#include "support.hpp"

using namespace pixhive::testing;
using nlohmann::json;
using verb = bhttp::verb;

namespace {

class http : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { server_ = new pixhive_server({"--access-log", "false"}); }
  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
  }
  static uint16_t port() { return server_->port(); }
  static pixhive_server* server_;
};

pixhive_server* http::server_ = nullptr;

}  // namespace

TEST_F(http, oversized_body_is_413_without_reading_it) {
  std::string big(2 * 1024 * 1024, 'x');
  for (bool expect_continue : {false, true}) {
    http_connection conn{port()};
    std::map<std::string, std::string> headers{{"Content-Type", "application/json"}};
    if (expect_continue) headers["Expect"] = "100-continue";
    auto r = conn.request(verb::post, "/api/v1/auth/signup", big, headers);
    EXPECT_EQ(r.status, 413) << "expect_continue=" << expect_continue;
    EXPECT_EQ(r.error_code(), "payload_too_large");
    EXPECT_EQ(r.headers["Connection"], "close");
  }
  EXPECT_EQ(call(port(), verb::get, "/api/v1/users/nobody_here").status, 404);
}

TEST_F(http, unknown_routes_and_methods) {
  auto missing = call(port(), verb::get, "/api/v1/nope");
  EXPECT_EQ(missing.status, 404);
  EXPECT_EQ(missing.error_code(), "not_found");
  auto wrong = call(port(), verb::delete_, "/api/v1/auth/login");
  EXPECT_EQ(wrong.status, 405);
  EXPECT_EQ(wrong.error_code(), "method_not_allowed");
  EXPECT_EQ(wrong.headers["Allow"], "POST");
  auto wrong_type = call(port(), verb::post, "/api/v1/auth/login");
  EXPECT_EQ(wrong_type.status, 415);
}

TEST_F(http, keep_alive_and_request_ids) {
  http_connection conn{port()};
  auto a = conn.request(verb::get, "/healthz", {}, {{"X-Request-Id", "trace-123"}});
  EXPECT_EQ(a.status, 200);
  EXPECT_EQ(a.headers["X-Request-Id"], "trace-123");
  // An unusable id is replaced by one the server makes.
  auto b = conn.request(verb::get, "/healthz", {}, {{"X-Request-Id", "bad id with spaces"}});
  EXPECT_EQ(b.status, 200);
  EXPECT_FALSE(b.headers["X-Request-Id"].empty());
  EXPECT_NE(b.headers["X-Request-Id"], "bad id with spaces");
  EXPECT_EQ(conn.request(verb::get, "/readyz").json()["status"], "ready");
}

TEST_F(http, malformed_requests_get_400) {
  boost::asio::io_context ioc;
  boost::asio::ip::tcp::socket s{ioc};
  s.connect({boost::asio::ip::make_address("127.0.0.1"), port()});
  std::string junk = "THIS IS NOT HTTP\r\n\r\n";
  boost::asio::write(s, boost::asio::buffer(junk));
  std::string got(256, '\0');
  boost::system::error_code ec;
  auto n = s.read_some(boost::asio::buffer(got), ec);
  got.resize(n);
  EXPECT_EQ(got.rfind("HTTP/1.1 400", 0), 0u) << got;
}

TEST_F(http, metrics_use_route_templates) {
  ASSERT_EQ(call(port(), verb::get, "/api/v1/users/some_user_x").status, 404);
  auto m = call(server_->metrics_port(), verb::get, "/metrics");
  ASSERT_EQ(m.status, 200);
  EXPECT_NE(
      m.body.find(
          "http_requests_total{method=\"GET\",route=\"/api/v1/users/{username}\",service=\"all\","
          "status=\"404\"}"),
      std::string::npos)
      << m.body.substr(0, 2000);
  EXPECT_NE(m.body.find("http_request_duration_seconds_bucket"), std::string::npos);
  EXPECT_EQ(m.body.find("some_user_x"), std::string::npos);
  EXPECT_NE(m.body.find("pixhive_auth_signups_total"), std::string::npos);
}

TEST_F(http, error_bodies_are_written_once_with_the_request_id) {
  http_connection conn{port()};
  auto missing = conn.request(verb::get, "/api/v1/nope", {}, {{"X-Request-Id", "trace-404"}});
  EXPECT_EQ(missing.status, 404);
  EXPECT_EQ(missing.headers["Content-Type"], "application/json");
  EXPECT_EQ(missing.body,
            "{\"error\":{\"code\":\"not_found\",\"message\":\"no such route\","
            "\"request_id\":\"trace-404\"}}\n");
  // Refused from the header alone (authentication), and the body limit: the same shape.
  auto anon = conn.request(verb::get, "/api/v1/users/me", {}, {{"X-Request-Id", "trace-401"}});
  EXPECT_EQ(anon.status, 401);
  EXPECT_EQ(anon.error_code(), "unauthorized");
  EXPECT_EQ(anon.json()["error"]["request_id"], "trace-401");
  EXPECT_EQ(anon.json()["error"].size(), 3u) << anon.body;
  // A handler's error (415 from the JSON body check) names the request id it was given.
  auto typed = conn.request(verb::post, "/api/v1/auth/login", "x", {{"X-Request-Id", "trace-415"}});
  EXPECT_EQ(typed.status, 415);
  EXPECT_EQ(typed.json()["error"]["request_id"], "trace-415");
  // A header that cannot be read is answered in the same shape, under a request id of its own.
  raw_connection raw{port()};
  raw.send("GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(20 * 1024, 'a') +
           "\r\n\r\n");
  auto answer = raw.read(std::chrono::seconds(30), "}\n");
  EXPECT_EQ(answer.rfind("HTTP/1.1 431", 0), 0u) << answer.substr(0, 200);
  EXPECT_NE(answer.find("\"code\":\"header_too_large\""), std::string::npos) << answer;
  EXPECT_NE(answer.find("\"request_id\":\""), std::string::npos) << answer;
}

TEST_F(http, answers_that_depend_on_the_caller_are_not_shared) {
  auto token = create_and_login(*server_, "vary_viewer");
  // A route open to anyone, where a token changes the answer.
  auto anon = call(port(), verb::get, "/api/v1/users/vary_viewer");
  ASSERT_EQ(anon.status, 200) << anon.body;
  EXPECT_EQ(anon.headers["Vary"], "Authorization");
  auto mine = call(port(), verb::get, "/api/v1/users/vary_viewer", nullptr, token);
  ASSERT_EQ(mine.status, 200) << mine.body;
  EXPECT_EQ(mine.headers["Vary"], "Authorization");
  EXPECT_EQ(mine.headers["Cache-Control"], "private, no-cache");
  // A route for signed-in callers only: private, and no Vary (there is no anonymous answer).
  auto me = call(port(), verb::get, "/api/v1/users/me", nullptr, token);
  ASSERT_EQ(me.status, 200) << me.body;
  EXPECT_EQ(me.headers["Cache-Control"], "private, no-cache");
  EXPECT_EQ(me.headers.count("Vary"), 0u);
  // Routes open to anyone are left alone.
  EXPECT_EQ(call(port(), verb::get, "/healthz").headers.count("Vary"), 0u);
}

TEST_F(http, refused_requests_are_counted_under_their_route) {
  auto series = [](int status) {
    return "http_requests_total{method=\"GET\",route=\"/api/v1/users/me\",service=\"all\","
           "status=\"" +
           std::to_string(status) + "\"}";
  };
  auto before = server_->metric(series(401));
  EXPECT_EQ(call(port(), verb::get, "/api/v1/users/me").status, 401);
  EXPECT_EQ(server_->metric(series(401)), before + 1);
  // Nothing stays in flight but the /metrics request that reads the gauge.
  EXPECT_EQ(server_->metric("http_requests_in_flight{service=\"all\"}"), 1);
}

TEST_F(http, the_access_log_has_one_line_per_request) {
  pixhive_server server{{"--access-log", "true"}};
  http_connection conn{server.port()};
  ASSERT_EQ(
      conn.request(verb::get, "/api/v1/users/nobody_here", {}, {{"X-Request-Id", "log-1"}}).status,
      404);
  ASSERT_EQ(conn.request(verb::get, "/api/v1/nope", {}, {{"X-Request-Id", "log-2"}}).status, 404);
  std::map<std::string, json> lines;
  EXPECT_TRUE(eventually([&] {
    std::istringstream out{server.process().output()};
    for (std::string line; std::getline(out, line);) {
      auto j = json::parse(line, nullptr, false);
      if (j.is_object() && j.value("event", "") == "http_request")
        lines[j.value("request_id", "")] = j;
    }
    return lines.count("log-1") && lines.count("log-2");
  }));
  auto& known = lines["log-1"];
  EXPECT_EQ(known["service"], "all");
  EXPECT_EQ(known["method"], "GET");
  EXPECT_EQ(known["route"], "/api/v1/users/{username}");
  EXPECT_EQ(known["path"], "/api/v1/users/nobody_here");
  EXPECT_EQ(known["status"], 404);
  EXPECT_TRUE(known["duration_ms"].is_number());
  EXPECT_EQ(lines["log-2"]["route"], "unmatched");
}
