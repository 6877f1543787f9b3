// S3 requests are signed by libcurl (CURLOPT_AWS_SIGV4), not by our own code. AWS's four published
// examples of header-based SigV4 for S3 ("Signature Calculations for the Authorization Header:
// Transferring Payload in a Single Chunk") are sent here through store::s3::client, the code that
// signs the S3 store's requests, to a loopback listener, with the example's own x-amz-date and
// Host header; the Authorization header that arrives must be AWS's. The same listener shows
// that the store reuses its connections across requests and threads.
#include <atomic>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include <sys/socket.h>

#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include "pixhive/core/crypto.hpp"
#include "pixhive/store/s3.hpp"
#include "support.hpp"

using namespace pixhive;

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;

/// A keep-alive HTTP/1.1 server on 127.0.0.1 standing in for S3 (and STS): it records every
/// request, counts the connections it accepted, keeps PUT bodies, answers GET from them (404
/// when missing), DELETE with 204 and POST with `post_reply`. With `drop_second_request`, it
/// reads the head of the second request of each connection and closes the connection without
/// answering (a kept-alive connection the server closed as the client used it again).
class loopback_s3 {
 public:
  struct seen {
    std::string method;
    std::string target;
    std::map<std::string, std::string> headers;  // names in lower case
    std::string body;
  };

  std::string post_reply;
  bool drop_second_request = false;

  loopback_s3() : acceptor_(ioc_, {asio::ip::make_address("127.0.0.1"), 0}) {
    port_ = acceptor_.local_endpoint().port();
    accepter_ = std::thread([this] { accept_loop(); });
  }

  ~loopback_s3() {
    stopping_ = true;
    {
      // Wakes the blocking accept.
      asio::io_context ioc;
      asio::ip::tcp::socket s{ioc};
      boost::system::error_code ec;
      s.connect({asio::ip::make_address("127.0.0.1"), port_}, ec);
    }
    accepter_.join();
    std::vector<std::thread> workers;
    {
      std::lock_guard<std::mutex> guard{mtx_};
      for (auto& s : sockets_) ::shutdown(s->native_handle(), SHUT_RDWR);
      workers.swap(workers_);
    }
    for (auto& t : workers) t.join();
  }

  std::string endpoint() const { return "http://127.0.0.1:" + std::to_string(port_); }
  size_t connections() const { return accepted_; }
  std::vector<seen> requests() {
    std::lock_guard<std::mutex> guard{mtx_};
    return seen_;
  }
  seen last() {
    std::lock_guard<std::mutex> guard{mtx_};
    return seen_.empty() ? seen{} : seen_.back();
  }

 private:
  void accept_loop() {
    for (;;) {
      auto sock = std::make_shared<asio::ip::tcp::socket>(ioc_);
      boost::system::error_code ec;
      acceptor_.accept(*sock, ec);
      if (ec || stopping_) return;
      ++accepted_;
      std::lock_guard<std::mutex> guard{mtx_};
      sockets_.push_back(sock);
      workers_.emplace_back([this, sock] { serve(*sock); });
    }
  }

  void serve(asio::ip::tcp::socket& s) {
    beast::flat_buffer buf;
    for (int n = 1;; ++n) {
      http::request_parser<http::string_body> parser;
      parser.body_limit(64 * 1024 * 1024);
      boost::system::error_code ec;
      http::read_header(s, buf, parser, ec);
      if (ec) return;
      if (drop_second_request && n == 2) {
        std::lock_guard<std::mutex> guard{mtx_};
        seen_.push_back({std::string(parser.get().method_string()),
                         std::string(parser.get().target()),
                         {},
                         {}});
        s.close(ec);
        return;
      }
      if (beast::iequals(parser.get()[http::field::expect], "100-continue")) {
        http::response<http::empty_body> go_on{http::status::continue_, 11};
        http::write(s, go_on, ec);
        if (ec) return;
      }
      http::read(s, buf, parser, ec);
      if (ec) return;
      auto req = parser.release();
      seen r{std::string(req.method_string()), std::string(req.target()), {}, req.body()};
      for (auto& f : req) {
        std::string name(f.name_string());
        for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        r.headers[name] = std::string(f.value());
      }
      http::response<http::string_body> res{http::status::ok, 11};
      {
        std::lock_guard<std::mutex> guard{mtx_};
        seen_.push_back(r);
        if (r.method == "PUT") {
          objects_[r.target] = r.body;
        } else if (r.method == "GET" || r.method == "HEAD") {
          auto it = objects_.find(r.target);
          if (it == objects_.end()) {
            res.result(http::status::not_found);
            res.body() = "<Error><Code>NoSuchKey</Code></Error>";
          } else {
            res.body() = it->second;
          }
        } else if (r.method == "DELETE") {
          objects_.erase(r.target);
          res.result(http::status::no_content);
        } else if (r.method == "POST") {
          res.body() = post_reply;
        }
      }
      res.keep_alive(req.keep_alive());
      res.prepare_payload();
      http::write(s, res, ec);
      if (ec || !req.keep_alive()) return;
    }
  }

  asio::io_context ioc_;
  asio::ip::tcp::acceptor acceptor_;
  uint16_t port_ = 0;
  std::atomic<bool> stopping_{false};
  std::atomic<size_t> accepted_{0};
  std::thread accepter_;
  std::mutex mtx_;
  std::vector<std::shared_ptr<asio::ip::tcp::socket>> sockets_;
  std::vector<std::thread> workers_;
  std::vector<seen> seen_;
  std::map<std::string, std::string> objects_;
};

/// AWS writes the header without spaces after the commas, libcurl with; both are valid.
std::string without_spaces_after_commas(std::string auth) {
  for (size_t at; (at = auth.find(", ")) != std::string::npos;) auth.erase(at + 1, 1);
  return auth;
}

const store::s3::signer aws_example_signer{
    {"AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", ""}, "us-east-1", "s3"};

/// Sends an example of AWS's (its path and query, its headers; host and date as AWS's) through
/// the store's client; returns the Authorization header the listener saw.
std::string signed_by_curl(loopback_s3& s3, const std::string& method, const std::string& target,
                           store::s3::header_list headers, std::string_view body = {}) {
  crypto::init();
  headers.emplace_back("Host", "examplebucket.s3.amazonaws.com");
  headers.emplace_back("x-amz-date", "20130524T000000Z");
  store::s3::client client;
  auto r = client.perform({method, s3.endpoint() + target, headers, body}, &aws_example_signer);
  EXPECT_TRUE(r.transport_error.empty()) << r.transport_error;
  auto seen = s3.last();
  EXPECT_EQ(seen.target, target);
  return without_spaces_after_commas(seen.headers["authorization"]);
}

}  // namespace

TEST(sigv4, matches_the_aws_get_object_example) {
  loopback_s3 s3;
  // No x-amz-content-sha256 given: the client adds the hash of the empty body.
  EXPECT_EQ(signed_by_curl(s3, "GET", "/test.txt", {{"Range", "bytes=0-9"}}),
            "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,"
            "SignedHeaders=host;range;x-amz-content-sha256;x-amz-date,"
            "Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41");
  EXPECT_EQ(s3.last().headers["x-amz-content-sha256"],
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

TEST(sigv4, curl_signs_the_aws_put_object_example) {
  loopback_s3 s3;
  store::s3_config cfg;
  cfg.bucket = "examplebucket";
  cfg.endpoint = "https://s3.amazonaws.com";
  auto url = store::s3::object_url(cfg, "test$file.text");
  ASSERT_TRUE(url);
  ASSERT_EQ(*url, "https://examplebucket.s3.amazonaws.com/test%24file.text");
  // The body is streamed from the caller's buffer; the client hashes it for the signature.
  EXPECT_EQ(signed_by_curl(s3, "PUT", "/test%24file.text",
                           {{"Date", "Fri, 24 May 2013 00:00:00 GMT"},
                            {"x-amz-storage-class", "REDUCED_REDUNDANCY"}},
                           "Welcome to Amazon S3."),
            "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,"
            "SignedHeaders=date;host;x-amz-content-sha256;x-amz-date;x-amz-storage-class,"
            "Signature=98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd");
  EXPECT_EQ(s3.last().body, "Welcome to Amazon S3.");
  EXPECT_EQ(s3.last().headers["x-amz-content-sha256"],
            "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072");
}

// libcurl 7.88 signs the query as the URL spells it: canonical_query() spells it canonically
// ("lifecycle=", sorted parameters), which is what makes these two match.
TEST(sigv4, curl_signs_the_aws_get_bucket_lifecycle_example) {
  loopback_s3 s3;
  auto query = store::s3::canonical_query({{"lifecycle", ""}});
  ASSERT_EQ(query, "lifecycle=");
  EXPECT_EQ(signed_by_curl(s3, "GET", "/?" + query, {}),
            "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,"
            "SignedHeaders=host;x-amz-content-sha256;x-amz-date,"
            "Signature=fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543");
}

TEST(sigv4, curl_signs_the_aws_list_objects_example) {
  loopback_s3 s3;
  auto query = store::s3::canonical_query({{"prefix", "J"}, {"max-keys", "2"}});
  ASSERT_EQ(query, "max-keys=2&prefix=J");
  EXPECT_EQ(signed_by_curl(s3, "GET", "/?" + query, {}),
            "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,"
            "SignedHeaders=host;x-amz-content-sha256;x-amz-date,"
            "Signature=34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7");
}

TEST(sigv4, temporary_credentials_sign_their_session_token) {
  crypto::init();
  loopback_s3 s3;
  store::s3::client client;
  store::s3::signer sign{{"ASIAEXAMPLE", "secret", "the-session-token"}, "eu-west-1", "s3"};
  auto r = client.perform({"DELETE", s3.endpoint() + "/pixhive/k", {}, {}}, &sign);
  EXPECT_EQ(r.status, 204) << r.transport_error;
  auto seen = s3.last();
  EXPECT_EQ(seen.headers["x-amz-security-token"], "the-session-token");
  EXPECT_TRUE(seen.headers.count("x-amz-date")) << "libcurl dates the request itself";
  auto auth = without_spaces_after_commas(seen.headers["authorization"]);
  EXPECT_NE(auth.find("Credential=ASIAEXAMPLE/"), std::string::npos) << auth;
  EXPECT_NE(auth.find("/eu-west-1/s3/aws4_request,"), std::string::npos) << auth;
  EXPECT_NE(auth.find("SignedHeaders=host;x-amz-content-sha256;x-amz-date;x-amz-security-token,"),
            std::string::npos)
      << auth;
}

TEST(sigv4, uri_encoding) {
  store::s3_config cfg;
  cfg.bucket = "pixhive";
  cfg.endpoint = "http://127.0.0.1:4568";
  cfg.path_style = true;
  EXPECT_EQ(*store::s3::object_url(cfg, "photos/a b+c~._-"),
            "http://127.0.0.1:4568/pixhive/photos/a%20b%2Bc~._-");
  EXPECT_EQ(*store::s3::object_url(cfg, "\xc3\xa9/x?y#z%"),
            "http://127.0.0.1:4568/pixhive/%C3%A9/x%3Fy%23z%25");
  cfg.endpoint = "http://minio:9000/s3/";
  EXPECT_EQ(*store::s3::object_url(cfg, "originals/1"), "http://minio:9000/s3/pixhive/originals/1");
  cfg.endpoint = "";
  cfg.path_style = false;
  cfg.region = "eu-west-1";
  EXPECT_EQ(*store::s3::object_url(cfg, "originals/1"),
            "https://pixhive.s3.eu-west-1.amazonaws.com/originals/1");
}

TEST(s3_urls, endpoints_must_be_http_urls) {
  store::s3_config cfg;
  cfg.bucket = "pixhive";
  cfg.credentials = {"A", "S", ""};
  for (auto bad : {"127.0.0.1:4568", "ftp://host/", "http://", "not a url", "http://u:p@host/"}) {
    cfg.endpoint = bad;
    EXPECT_FALSE(store::s3::object_url(cfg, "k")) << bad;
    auto opened = store::open_s3_store(cfg);
    ASSERT_FALSE(opened) << bad;
    EXPECT_EQ(to_problem(opened.error()).code, "bad_config");
  }
}

TEST(s3_urls, canonical_queries_are_sorted_and_encoded) {
  EXPECT_EQ(store::s3::canonical_query({{"b", "2"}, {"a b", "x/y+z"}, {"a", "1"}, {"uploads", ""}}),
            "a=1&a%20b=x%2Fy%2Bz&b=2&uploads=");
  EXPECT_EQ(store::s3::canonical_query({}), "");
}

// 100 requests from 4 threads: each thread holds one pooled handle at a time, so no more than 4
// connections are opened (a handle per request, as before, opened 100).
TEST(s3_store, connections_are_reused_across_requests_and_threads) {
  crypto::init();
  loopback_s3 s3;
  store::s3_config cfg;
  cfg.bucket = "pixhive";
  cfg.endpoint = s3.endpoint();
  cfg.path_style = true;
  cfg.credentials = {"S3RVER", "S3RVER", ""};
  auto opened = store::open_s3_store(cfg);
  ASSERT_TRUE(opened) << to_problem(opened.error()).message;
  auto& blobs = **opened;
  auto before = store::s3::traffic_so_far();
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&, t] {
      for (int i = 0; i < 25; ++i) {
        auto key = "t" + std::to_string(t) + "/" + std::to_string(i / 2);
        bool ok = false;
        if (i % 2 == 0) {
          ok = bool(blobs.put(key, "bytes of " + key));
        } else {
          auto got = blobs.get(key);
          ok = got && *got == "bytes of " + key;
        }
        if (!ok) ++failures;
      }
    });
  for (auto& t : threads) t.join();
  EXPECT_EQ(failures, 0);
  auto after = store::s3::traffic_so_far();
  EXPECT_EQ(s3.requests().size(), 100u);
  EXPECT_EQ(after.requests - before.requests, 100u);
  EXPECT_GE(s3.connections(), 1u);
  EXPECT_LE(s3.connections(), 4u);
  EXPECT_EQ(after.connections - before.connections, s3.connections());

  // One thread after them: the most recently used handle's connection serves all of it.
  for (int i = 0; i < 20; ++i) ASSERT_TRUE(blobs.remove("t0/" + std::to_string(i)));
  EXPECT_EQ(store::s3::traffic_so_far().connections, after.connections);
  EXPECT_EQ(s3.connections(), after.connections - before.connections);
}

// A kept-alive connection the server closed as the next request came: libcurl sends the request
// again on a new connection, body and all. (PUTs wait for "100 Continue", so here no body byte
// had gone out; when some had, libcurl rewinds the body through the client's seek callback.)
TEST(s3_client, a_request_on_a_connection_the_server_dropped_is_sent_again) {
  crypto::init();
  loopback_s3 s3;
  s3.drop_second_request = true;
  store::s3::client client;
  store::s3::signer sign{{"AK", "SK", ""}, "us-east-1", "s3"};
  auto first = client.perform({"PUT", s3.endpoint() + "/pixhive/a", {}, "first body"}, &sign);
  EXPECT_EQ(first.status, 200) << first.transport_error;
  EXPECT_TRUE(first.new_connection);
  std::string big(300000, 'x');
  auto second = client.perform({"PUT", s3.endpoint() + "/pixhive/b", {}, big}, &sign);
  EXPECT_EQ(second.status, 200) << second.transport_error;
  auto seen = s3.requests();
  ASSERT_EQ(seen.size(), 3u);
  EXPECT_EQ(seen[1].target, "/pixhive/b");
  EXPECT_EQ(seen[2].target, "/pixhive/b");
  EXPECT_TRUE(seen[2].body == big);
  EXPECT_EQ(s3.connections(), 2u);
}

// IRSA: the form posted to STS is encoded as before (every byte but the unreserved ones), and
// S3 requests are signed with the temporary keys and their session token; STS and S3 on one
// host share one kept-alive connection.
TEST(s3_store, a_web_identity_role_is_assumed_at_sts) {
  crypto::init();
  loopback_s3 aws;
  aws.post_reply =
      "<AssumeRoleWithWebIdentityResponse><AssumeRoleWithWebIdentityResult><Credentials>"
      "<AccessKeyId>ASIAFAKE</AccessKeyId><SecretAccessKey>fake-secret</SecretAccessKey>"
      "<SessionToken>fake-token</SessionToken><Expiration>2099-01-01T00:00:00Z</Expiration>"
      "</Credentials></AssumeRoleWithWebIdentityResult></AssumeRoleWithWebIdentityResponse>";
  pixhive::testing::temp_dir dir;
  std::ofstream(dir.path() + "/token") << "eyJ.projected+token/=\n";
  store::s3_config cfg;
  cfg.bucket = "pixhive";
  cfg.endpoint = aws.endpoint();
  cfg.path_style = true;
  cfg.identity.role_arn = "arn:aws:iam::123456789012:role/pixhive-s3";
  cfg.identity.token_file = dir.path() + "/token";
  cfg.identity.session_name = "session 1";
  cfg.identity.sts_endpoint = aws.endpoint();
  auto opened = store::open_s3_store(cfg);
  ASSERT_TRUE(opened) << to_problem(opened.error()).message;
  ASSERT_TRUE((*opened)->put("k/1", "v"));
  ASSERT_TRUE((*opened)->put("k/2", "v"));
  auto seen = aws.requests();
  ASSERT_EQ(seen.size(), 3u);
  EXPECT_EQ(seen[0].method, "POST");
  EXPECT_EQ(seen[0].target, "/");
  EXPECT_EQ(seen[0].headers["content-type"], "application/x-www-form-urlencoded");
  EXPECT_EQ(seen[0].body,
            "Action=AssumeRoleWithWebIdentity&DurationSeconds=3600"
            "&RoleArn=arn%3Aaws%3Aiam%3A%3A123456789012%3Arole%2Fpixhive-s3"
            "&RoleSessionName=session%201&Version=2011-06-15"
            "&WebIdentityToken=eyJ.projected%2Btoken%2F%3D");
  EXPECT_FALSE(seen[0].headers.count("authorization"));
  for (size_t i = 1; i < seen.size(); ++i) {
    EXPECT_EQ(seen[i].method, "PUT");
    EXPECT_EQ(seen[i].headers["x-amz-security-token"], "fake-token");
    EXPECT_NE(seen[i].headers["authorization"].find("Credential=ASIAFAKE/"), std::string::npos);
  }
  EXPECT_EQ(aws.connections(), 1u);
}

// AssumeRoleWithWebIdentity's answer as the STS documentation shows it (EKS IRSA).
TEST(sts, reads_web_identity_credentials) {
  auto r = store::parse_sts_credentials(
      R"(<AssumeRoleWithWebIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
  <AssumeRoleWithWebIdentityResult>
    <SubjectFromWebIdentityToken>system:serviceaccount:pixhive:pixhive</SubjectFromWebIdentityToken>
    <Credentials>
      <SessionToken>AQoDYXdzEE0a8ANXXXXXXXXNO1ewxE5TijQyp+IEXAMPLE</SessionToken>
      <SecretAccessKey>wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLEKEY</SecretAccessKey>
      <Expiration>2026-12-03T18:40:00Z</Expiration>
      <AccessKeyId>ASgeIAIOSFODNN7EXAMPLE</AccessKeyId>
    </Credentials>
  </AssumeRoleWithWebIdentityResult>
</AssumeRoleWithWebIdentityResponse>)");
  ASSERT_TRUE(r) << to_problem(r.error()).message;
  EXPECT_EQ(r->credentials.access_key, "ASgeIAIOSFODNN7EXAMPLE");
  EXPECT_EQ(r->credentials.secret_key, "wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLEKEY");
  EXPECT_EQ(r->credentials.session_token, "AQoDYXdzEE0a8ANXXXXXXXXNO1ewxE5TijQyp+IEXAMPLE");
  EXPECT_EQ(std::chrono::system_clock::to_time_t(r->expires), 1796323200);
}

TEST(sts, an_error_answer_is_an_error_with_its_message) {
  auto r = store::parse_sts_credentials(
      "<ErrorResponse><Error><Type>Sender</Type><Code>InvalidIdentityToken</Code>"
      "<Message>Token &amp; role do not match</Message></Error></ErrorResponse>");
  ASSERT_FALSE(r);
  EXPECT_NE(to_problem(r.error()).message.find("Token & role do not match"), std::string::npos)
      << to_problem(r.error()).message;
  EXPECT_FALSE(store::parse_sts_credentials("<Credentials><AccessKeyId>A</AccessKeyId>"));
  EXPECT_FALSE(store::parse_sts_credentials(
      "<AccessKeyId>A</AccessKeyId><SecretAccessKey>S</SecretAccessKey>"
      "<SessionToken>T</SessionToken><Expiration>soon</Expiration>"));
}

// The token becomes the x-amz-security-token header: a line break in it would add headers.
TEST(sts, credentials_with_control_characters_are_refused) {
  auto answer = [](const std::string& token) {
    return "<AccessKeyId>A</AccessKeyId><SecretAccessKey>S</SecretAccessKey><SessionToken>" +
           token + "</SessionToken><Expiration>2099-01-01T00:00:00Z</Expiration>";
  };
  EXPECT_TRUE(store::parse_sts_credentials(answer("T+/=")));
  EXPECT_FALSE(store::parse_sts_credentials(answer("T\r\nx-amz-acl: public-read")));
  EXPECT_FALSE(store::parse_sts_credentials(answer(std::string("T\0", 2))));
}
