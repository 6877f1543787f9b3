// Verification mail through a real SMTP server (Python's smtpd debugging server on loopback).
#include <filesystem>
#include <regex>

#include <gtest/gtest.h>

#include <boost/asio/ip/tcp.hpp>

#include "support.hpp"

using namespace pixhive::testing;
using nlohmann::json;

TEST(mail, verification_code_goes_through_smtp) {
  const std::string python = "/usr/bin/python3";
  if (!std::filesystem::exists(python))
    PIXHIVE_SKIP_MISSING(std::string("skipping SMTP test: ") + python + " is not installed");
  uint16_t smtp_port;
  {
    boost::asio::io_context ioc;
    boost::asio::ip::tcp::acceptor acc{ioc, {boost::asio::ip::make_address("127.0.0.1"), 0}};
    smtp_port = acc.local_endpoint().port();
  }
  child_process smtp({python, "-u", "-W", "ignore", "-m", "smtpd", "-n", "-c", "DebuggingServer",
                      "127.0.0.1:" + std::to_string(smtp_port)});
  // smtpd prints nothing when it starts: wait until it accepts connections.
  bool up = false;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (!up && std::chrono::steady_clock::now() < deadline) up = can_connect(smtp_port);
  ASSERT_TRUE(up) << smtp.output();

  pixhive_server server(
      {"--smtp-url", "smtp://127.0.0.1:" + std::to_string(smtp_port), "--access-log", "false"});
  auto s = call(server.port(), bhttp::verb::post, "/api/v1/auth/signup",
                {{"username", "mailed"},
                 {"email", "mailed@example.com"},
                 {"password", "correct horse battery"}});
  ASSERT_EQ(s.status, 201) << s.body;
  static const std::regex code_re("code is ([0-9]{6})");
  auto line =
      smtp.wait_for_line([](const std::string& l) { return std::regex_search(l, code_re); });
  ASSERT_TRUE(line) << smtp.output();
  std::smatch m;
  std::regex_search(*line, m, code_re);
  EXPECT_NE(smtp.output().find("mailed@example.com"), std::string::npos);
  EXPECT_FALSE(std::filesystem::exists(server.data_dir() + "/outbox"));
  auto v = call(server.port(), bhttp::verb::post, "/api/v1/auth/verify",
                {{"username", "mailed"}, {"code", m[1]}});
  EXPECT_EQ(v.status, 200) << v.body;
}
