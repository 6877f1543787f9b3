// Photos stored in an S3-compatible service (s3rver on loopback). s3rver does not reject wrong
// signatures, so SigV4 itself (libcurl's) is proven by AWS's examples in
// tests/unit/sigv4_test.cpp; the IRSA test below uses tests/support/fake_aws.py, which records
// what signed each request, and the connection test counts the connections made to s3rver.
#include <atomic>
#include <filesystem>
#include <fstream>
#include <memory>
#include <mutex>
#include <thread>

#include <sys/socket.h>

#include <gtest/gtest.h>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>

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

/// A TCP relay on 127.0.0.1 to `upstream` that counts the connections it accepted: what the
/// S3 server sees, whatever the client reports about itself.
class counting_proxy {
 public:
  explicit counting_proxy(uint16_t upstream)
      : upstream_(upstream), acceptor_(ioc_, {boost::asio::ip::make_address("127.0.0.1"), 0}) {
    port_ = acceptor_.local_endpoint().port();
    accepter_ = std::thread([this] { accept_loop(); });
  }

  ~counting_proxy() {
    stopping_ = true;
    {
      boost::asio::io_context ioc;
      tcp::socket wake{ioc};
      boost::system::error_code ec;
      wake.connect({boost::asio::ip::make_address("127.0.0.1"), port_}, ec);
    }
    accepter_.join();
    std::vector<std::thread> pumps;
    {
      std::lock_guard<std::mutex> guard{mtx_};
      for (auto& s : sockets_) ::shutdown(s->native_handle(), SHUT_RDWR);
      pumps.swap(pumps_);
    }
    for (auto& t : pumps) t.join();
  }

  std::string endpoint() const { return "http://127.0.0.1:" + std::to_string(port_); }
  size_t accepted() const { return accepted_; }

 private:
  using tcp = boost::asio::ip::tcp;

  void accept_loop() {
    for (;;) {
      auto down = std::make_shared<tcp::socket>(ioc_);
      boost::system::error_code ec;
      acceptor_.accept(*down, ec);
      if (ec || stopping_) return;
      ++accepted_;
      auto up = std::make_shared<tcp::socket>(ioc_);
      up->connect({boost::asio::ip::make_address("127.0.0.1"), upstream_}, ec);
      if (ec) continue;
      std::lock_guard<std::mutex> guard{mtx_};
      sockets_.push_back(down);
      sockets_.push_back(up);
      pumps_.emplace_back([down, up] { pump(*down, *up); });
      pumps_.emplace_back([down, up] { pump(*up, *down); });
    }
  }

  static void pump(tcp::socket& from, tcp::socket& to) {
    char buf[64 * 1024];
    for (;;) {
      boost::system::error_code ec;
      size_t n = from.read_some(boost::asio::buffer(buf), ec);
      if (ec) break;
      boost::asio::write(to, boost::asio::buffer(buf, n), ec);
      if (ec) break;
    }
    ::shutdown(to.native_handle(), SHUT_WR);
  }

  uint16_t upstream_;
  boost::asio::io_context ioc_;
  tcp::acceptor acceptor_;
  uint16_t port_ = 0;
  std::atomic<bool> stopping_{false};
  std::atomic<size_t> accepted_{0};
  std::thread accepter_;
  std::mutex mtx_;
  std::vector<std::shared_ptr<tcp::socket>> sockets_;
  std::vector<std::thread> pumps_;
};

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
  auto original = conn.request(verb::get, "/api/v1/photos/" + id + "/original", {},
                               {{"Authorization", "Bearer " + token}});
  ASSERT_EQ(original.status, 200);
  EXPECT_EQ(original.body, image);

  auto del = conn.request(verb::delete_, "/api/v1/photos/" + id, {},
                          {{"Authorization", "Bearer " + token}});
  EXPECT_EQ(del.status, 204);
  EXPECT_EQ(stored_objects(s3.dir(), id), 0u);
}

// Uploads, their processing (thumbnails written by the processing service) and reads of the
// originals, all against s3rver through a relay that counts connections: the S3 clients keep
// their connections alive, so a few connections serve every request (one connection per
// request before the pool of reused libcurl handles).
TEST(media_s3, connections_to_s3_are_reused) {
  s3rver_server s3;
  if (!s3.available()) PIXHIVE_SKIP_MISSING(std::string("skipping S3 test: ") + s3.why());
  auto port = static_cast<uint16_t>(std::stoi(s3.endpoint().substr(s3.endpoint().rfind(':') + 1)));
  counting_proxy relay{port};
  pixhive_server server({"--access-log", "false", "--blob-store", "s3", "--s3-endpoint",
                         relay.endpoint(), "--s3-bucket", "pixhive", "--s3-path-style"},
                        "all",
                        {{"AWS_ACCESS_KEY_ID", "S3RVER"}, {"AWS_SECRET_ACCESS_KEY", "S3RVER"}});
  auto token = create_and_login(server, "reuse");
  http_connection conn{server.port()};
  std::vector<std::string> ids;
  for (int i = 0; i < 10; ++i) {
    auto up = conn.request(verb::post, "/api/v1/photos", make_bmp(40 + i, 30),
                           {{"Content-Type", "image/bmp"}, {"Authorization", "Bearer " + token}});
    ASSERT_EQ(up.status, 201) << up.body << server.process().output();
    ids.push_back(up.json()["id"].get<std::string>());
  }
  for (auto& id : ids) ASSERT_EQ(settled_photo(server.port(), id, token)["status"], "ready") << id;
  for (auto& id : ids) {
    auto original = conn.request(verb::get, "/api/v1/photos/" + id + "/original", {},
                                 {{"Authorization", "Bearer " + token}});
    ASSERT_EQ(original.status, 200);
  }
  auto requests = server.metric("pixhive_s3_requests_total");
  auto connections = server.metric("pixhive_s3_connections_total");
  std::cerr << "s3 requests " << requests << ", connections " << connections
            << ", accepted by the relay " << relay.accepted() << "\n";
  EXPECT_GE(requests, 20) << "every upload stores its original and its thumbnails";
  EXPECT_EQ(connections, static_cast<double>(relay.accepted()));
  EXPECT_GE(relay.accepted(), 1u);
  // Each store's pool opens a connection only for a request that finds no idle handle.
  EXPECT_LE(relay.accepted() * 4, static_cast<size_t>(requests)) << server.process().output();
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

// EKS IAM Roles for Service Accounts: no static keys, only AWS_ROLE_ARN and the projected token
// file. Media assumes the role at STS (a stand-in on loopback, which also records what S3 sees)
// and signs with the temporary keys and their session token; one STS call serves every request
// until the keys near their expiry. A token STS refuses makes uploads fail with 503.
TEST(media_s3, a_web_identity_role_is_assumed_for_s3) {
  temp_dir dir;
  auto token_file = dir.path() + "/token";
  std::ofstream(token_file) << "eyJ.projected.token\n";
  const std::string role = "arn:aws:iam::123456789012:role/pixhive-s3";
  child_process aws{{"/usr/bin/env", "python3",
                     std::string(PIXHIVE_SOURCE_DIR) + "/tests/support/fake_aws.py",
                     "eyJ.projected.token", role}};
  auto line = aws.wait_for_line([](const std::string& l) { return l.rfind("port ", 0) == 0; });
  ASSERT_TRUE(line) << aws.output();
  auto port = static_cast<uint16_t>(std::stoi(line->substr(5)));
  auto endpoint = "http://127.0.0.1:" + std::to_string(port);
  std::vector<std::string> args{"--access-log", "false",         "--blob-store",
                                "s3",           "--s3-endpoint", endpoint,
                                "--s3-bucket",  "pixhive",       "--s3-path-style"};
  std::map<std::string, std::string> env{{"AWS_ROLE_ARN", role},
                                         {"AWS_WEB_IDENTITY_TOKEN_FILE", token_file},
                                         {"AWS_ENDPOINT_URL_STS", endpoint + "/"}};
  pixhive_server server(args, "all", env);
  auto token = create_and_login(server, "irsa");
  http_connection conn{server.port()};
  for (int i = 0; i < 2; ++i) {
    auto up = conn.request(verb::post, "/api/v1/photos", make_bmp(24, 16),
                           {{"Content-Type", "image/bmp"}, {"Authorization", "Bearer " + token}});
    ASSERT_EQ(up.status, 201) << up.body << server.process().output();
  }
  auto log = nlohmann::json::parse(call(port, verb::get, "/_log").body);
  int sts = 0, signed_puts = 0;
  for (auto& r : log) {
    if (r["kind"] == "sts") {
      ++sts;
      EXPECT_EQ(r["form"]["RoleArn"], role);
      EXPECT_EQ(r["form"]["WebIdentityToken"], "eyJ.projected.token");
    } else if (r["method"] == "PUT") {
      EXPECT_EQ(r["access_key"], "ASIAFAKEIRSA") << r.dump();
      EXPECT_EQ(r["session_token"], "fake-session-token") << r.dump();
      ++signed_puts;
    }
  }
  EXPECT_EQ(sts, 1) << log.dump();
  EXPECT_GE(signed_puts, 2) << log.dump();

  // A token STS does not accept: nothing is signed, the upload is refused as unavailable.
  temp_dir other;
  std::ofstream(other.path() + "/token") << "forged";
  env["AWS_WEB_IDENTITY_TOKEN_FILE"] = other.path() + "/token";
  pixhive_server refused(args, "all", env);
  auto token2 = create_and_login(refused, "irsa2");
  http_connection conn2{refused.port()};
  auto up = conn2.request(verb::post, "/api/v1/photos", make_bmp(24, 16),
                          {{"Content-Type", "image/bmp"}, {"Authorization", "Bearer " + token2}});
  EXPECT_EQ(up.status, 503) << up.body;
  EXPECT_NE(refused.process().output().find("token or role not accepted"), std::string::npos)
      << refused.process().output();
}
