// Verification mail through a real SMTP server (Python's smtpd debugging server on loopback).
#include <filesystem>
#include <regex>

#include <gtest/gtest.h>

#include <boost/asio/ip/tcp.hpp>

#include "support.hpp"

using namespace pixhive::testing;
using nlohmann::json;

namespace {

const std::string python = "/usr/bin/python3";

/// Python's debugging SMTP server on a free loopback port: it prints every message it gets, and
/// offers neither STARTTLS nor AUTH.
std::pair<std::unique_ptr<child_process>, uint16_t> start_smtpd() {
  uint16_t smtp_port;
  {
    boost::asio::io_context ioc;
    boost::asio::ip::tcp::acceptor acc{ioc, {boost::asio::ip::make_address("127.0.0.1"), 0}};
    smtp_port = acc.local_endpoint().port();
  }
  auto smtp = std::make_unique<child_process>(
      std::vector<std::string>{python, "-u", "-W", "ignore", "-m", "smtpd", "-n", "-c",
                               "DebuggingServer", "127.0.0.1:" + std::to_string(smtp_port)});
  // smtpd prints nothing when it starts: wait until it accepts connections.
  eventually([&] { return can_connect(smtp_port); }, std::chrono::seconds(20));
  return {std::move(smtp), smtp_port};
}

}  // namespace

TEST(mail, verification_code_goes_through_smtp) {
  if (!std::filesystem::exists(python))
    PIXHIVE_SKIP_MISSING(std::string("skipping SMTP test: ") + python + " is not installed");
  auto [smtp_owner, smtp_port] = start_smtpd();
  auto& smtp = *smtp_owner;
  ASSERT_TRUE(can_connect(smtp_port)) << smtp.output();

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

TEST(mail, a_password_is_never_sent_without_tls) {
  if (!std::filesystem::exists(python))
    PIXHIVE_SKIP_MISSING(std::string("skipping SMTP test: ") + python + " is not installed");
  // A server that offers no STARTTLS is what a man in the middle who strips it looks like.
  auto [smtp, smtp_port] = start_smtpd();
  ASSERT_TRUE(can_connect(smtp_port)) << smtp->output();
  pixhive_server server({"--smtp-url", "smtp://127.0.0.1:" + std::to_string(smtp_port),
                         "--smtp-user", "pixhive", "--smtp-password", "mail-secret", "--access-log",
                         "false"});
  auto s = call(server.port(), bhttp::verb::post, "/api/v1/auth/signup",
                {{"username", "cleartext"},
                 {"email", "cleartext@example.com"},
                 {"password", "correct horse battery"}});
  ASSERT_EQ(s.status, 201) << s.body;
  auto failed = server.process().wait_for_line(
      [](const std::string& l) { return l.find("verification_mail_failed") != std::string::npos; });
  ASSERT_TRUE(failed) << "the mail went out without TLS: " << smtp->output();
  EXPECT_EQ(smtp->output().find("code is"), std::string::npos) << smtp->output();
}
