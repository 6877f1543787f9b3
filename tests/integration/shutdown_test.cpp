// SIGTERM while requests are in flight: /readyz says 503 at once, new connections are refused
// once the drain period ends and the listener closes, the requests complete, the process exits 0.
#include <signal.h>

#include <gtest/gtest.h>

#include <regex>

#include "support.hpp"

using namespace pixhive::testing;
using nlohmann::json;
using verb = bhttp::verb;

namespace {

int in_flight(http_connection& conn) {
  auto m = conn.request(verb::get, "/metrics");
  static const std::regex re(R"(http_requests_in_flight\{service="all"\} ([0-9.]+))");
  std::smatch match;
  if (!std::regex_search(m.body, match, re)) return -1;
  // The /metrics request itself is in flight while it is answered.
  return static_cast<int>(std::stod(match[1])) - 1;
}

}  // namespace

TEST(shutdown, sigterm_finishes_in_flight_requests_and_exits_zero) {
  // One auth worker makes each argon2id login wait for the ones before it, so that a batch of
  // logins stays in flight for a while.
  pixhive_server server(
      {"--auth-workers", "1", "--access-log", "false", "--shutdown-drain", "300ms"});
  const std::string pw = "correct horse battery";
  std::vector<std::string> argv{pixhive_binary(),
                                "admin",
                                "create-user",
                                "--data-dir",
                                server.data_dir(),
                                "--username",
                                "slow",
                                "--email",
                                "slow@example.com",
                                "--password",
                                pw};
  child_process cli{argv};
  ASSERT_EQ(cli.wait_exit(), 0) << cli.output();

  auto watcher = std::make_unique<http_connection>(server.port());
  ASSERT_EQ(watcher->request(verb::get, "/readyz").status, 200);

  constexpr int n = 8;
  std::vector<std::unique_ptr<http_connection>> clients;
  auto body = json{{"login", "slow"}, {"password", pw}}.dump();
  for (int i = 0; i < n; ++i) {
    clients.push_back(std::make_unique<http_connection>(server.port()));
    clients.back()->send(verb::post, "/api/v1/auth/login", body,
                         {{"Content-Type", "application/json"}});
  }
  // Wait until the server has read every login (not a sleep: a bounded poll of its own gauge).
  int seen = 0;
  for (int i = 0; i < 2000 && seen < n; ++i) seen = in_flight(*watcher);
  ASSERT_GE(seen, n - 1) << "logins did not arrive";

  server.process().signal(SIGTERM);
  // Poll until the signal is handled. A 200 that raced with the start of the shutdown comes with
  // Connection: close; ask again on a new connection (the listener stays open for the drain).
  int ready_status = 0;
  auto conn = std::move(watcher);
  for (int i = 0; i < 2000; ++i) {
    auto r = conn->request(verb::get, "/readyz");
    ready_status = r.status;
    if (ready_status == 503) break;
    if (r.headers["Connection"] == "close") conn = std::make_unique<http_connection>(server.port());
  }
  EXPECT_EQ(ready_status, 503);

  bool refused = false;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (!refused && std::chrono::steady_clock::now() < deadline)
    refused = !can_connect(server.port());
  EXPECT_TRUE(refused) << "the listener stayed open";

  for (auto& c : clients) {
    auto r = c->receive();
    EXPECT_EQ(r.status, 200) << r.body;
    EXPECT_TRUE(r.json().contains("access_token"));
    EXPECT_EQ(r.headers["Connection"], "close");
  }
  EXPECT_EQ(server.process().wait_exit(), 0) << server.process().output();
}
