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

struct progress {
  int in_flight = -1;  // requests read but not answered (this /metrics request excluded)
  int logins_done = 0;
};

progress read_progress(http_connection& conn) {
  auto m = conn.request(verb::get, "/metrics");
  static const std::regex flight(R"(http_requests_in_flight\{service="all"\} ([0-9.]+))");
  static const std::regex done(
      R"re(http_requests_total\{method="POST",route="/api/v1/auth/login",service="all",status="200"\} ([0-9.]+))re");
  progress p;
  std::smatch match;
  // The /metrics request itself is in flight while it is answered.
  if (std::regex_search(m.body, match, flight))
    p.in_flight = static_cast<int>(std::stod(match[1])) - 1;
  if (std::regex_search(m.body, match, done)) p.logins_done = static_cast<int>(std::stod(match[1]));
  return p;
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

  // The metrics listener: /metrics is not on the public port.
  auto watcher = std::make_unique<http_connection>(server.metrics_port());
  ASSERT_EQ(watcher->request(verb::get, "/readyz").status, 200);

  constexpr int n = 8;
  std::vector<std::unique_ptr<http_connection>> clients;
  auto body = json{{"login", "slow"}, {"password", pw}}.dump();
  for (int i = 0; i < n; ++i) {
    clients.push_back(std::make_unique<http_connection>(server.port()));
    clients.back()->send(verb::post, "/api/v1/auth/login", body,
                         {{"Content-Type", "application/json"}});
  }
  // Wait until the server has read every login (a bounded poll of its own metrics, not a sleep).
  // Under load the first logins may finish before the last is read: count those too.
  progress p;
  eventually(
      [&] {
        p = read_progress(*watcher);
        return p.in_flight + p.logins_done >= n;
      },
      std::chrono::seconds(20), std::chrono::milliseconds(0));
  ASSERT_EQ(p.in_flight + p.logins_done, n) << "logins did not arrive";
  ASSERT_GE(p.in_flight, 1) << "every login finished before SIGTERM: nothing was in flight";

  server.process().signal(SIGTERM);
  // Poll until the signal is handled. A 200 that raced with the start of the shutdown comes with
  // Connection: close; ask again on a new connection (the listener stays open for the drain).
  // (Bounded by time, not by a count of requests, which a fast machine gets through sooner.)
  int ready_status = 0;
  auto conn = std::move(watcher);
  eventually(
      [&] {
        auto r = conn->request(verb::get, "/readyz");
        ready_status = r.status;
        if (ready_status == 503) return true;
        if (r.headers["Connection"] == "close")
          conn = std::make_unique<http_connection>(server.port());
        return false;
      },
      std::chrono::seconds(10), std::chrono::milliseconds(0));
  EXPECT_EQ(ready_status, 503);

  EXPECT_TRUE(eventually([&] { return !can_connect(server.port()); }, std::chrono::seconds(10),
                         std::chrono::milliseconds(0)))
      << "the listener stayed open";

  // Every login is answered. Those answered once the drain began say Connection: close; those
  // finished before it (counted in logins_done, plus at most the one the single auth worker
  // finished between that count and the signal's handling) may keep their connection.
  int kept_open = 0;
  for (auto& c : clients) {
    auto r = c->receive();
    EXPECT_EQ(r.status, 200) << r.body;
    EXPECT_TRUE(r.json().contains("access_token"));
    kept_open += r.headers["Connection"] != "close";
  }
  EXPECT_LE(kept_open, p.logins_done + 1) << "answers during the drain kept their connection";
  EXPECT_LT(kept_open, n) << "no answer said Connection: close";
  EXPECT_EQ(server.process().wait_exit(), 0) << server.process().output();
}
