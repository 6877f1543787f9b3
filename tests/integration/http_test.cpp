// HTTP-level behaviour shared by every route: limits, content types, routing errors, request ids,
// health and metrics.
#include <gtest/gtest.h>

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
