// Redis and PostgreSQL go away and come back under a running server: what was acknowledged
// during the outage is announced once they are back, exactly once, and the server needs no
// restart.
#include <future>

#include <gtest/gtest.h>
#include <hiredis/hiredis.h>
#include <opencv2/imgcodecs.hpp>

#include "images.hpp"
#include "pixhive/store/sql.hpp"
#include "support.hpp"

using namespace pixhive::testing;
using namespace std::chrono_literals;
using bhttp::verb;
using nlohmann::json;

namespace {

/// Pending (delivered, not acknowledged) entries of every consumer group of the event stream;
/// -1 when Redis does not answer. `report` names the groups, consumers and events.
int64_t pending_entries(uint16_t redis_port, std::string* report = nullptr) {
  auto* c = redisConnect("127.0.0.1", redis_port);
  if (!c || c->err) {
    if (c) redisFree(c);
    return -1;
  }
  int64_t pending = 0;
  auto* r = static_cast<redisReply*>(redisCommand(c, "XINFO GROUPS pixhive:events"));
  if (!r || r->type != REDIS_REPLY_ARRAY) pending = -1;
  for (size_t g = 0; r && r->type == REDIS_REPLY_ARRAY && g < r->elements; ++g) {
    auto* fields = r->element[g];
    std::string name;
    int64_t n = 0;
    for (size_t i = 0; i + 1 < fields->elements; i += 2) {
      std::string key = fields->element[i]->str;
      if (key == "name") name = fields->element[i + 1]->str;
      if (key == "pending") n = fields->element[i + 1]->integer;
    }
    pending += n;
    if (!report || n == 0) continue;
    auto* detail = static_cast<redisReply*>(
        redisCommand(c, "XPENDING pixhive:events %s - + 10", name.c_str()));
    for (size_t i = 0; detail && detail->type == REDIS_REPLY_ARRAY && i < detail->elements; ++i) {
      auto* e = detail->element[i];
      *report += name + " " + e->element[0]->str + " consumer " + e->element[1]->str + " idle " +
                 std::to_string(e->element[2]->integer) + "ms deliveries " +
                 std::to_string(e->element[3]->integer) + "\n";
    }
    if (detail) freeReplyObject(detail);
  }
  if (r) freeReplyObject(r);
  redisFree(c);
  return pending;
}

/// How many of `user`'s notifications are of `kind`.
int count_notifications(uint16_t port, const std::string& token, const std::string& kind) {
  auto r = call(port, verb::get, "/api/v1/notifications?limit=100", nullptr, token);
  if (r.status != 200) return -1;
  int n = 0;
  auto body = r.json();
  for (auto& item : body["notifications"]) n += item["kind"] == kind;
  return n;
}

/// A new photo of `token`'s owner: a plain JPEG in `colour`.
std::string upload_jpeg(uint16_t port, const std::string& token, cv::Scalar colour) {
  cv::Mat img(240, 320, CV_8UC3, colour);
  std::vector<uchar> buf;
  cv::imencode(".jpg", img, buf);
  return upload_photo(port, token, std::string(buf.begin(), buf.end()), "", "image/jpeg");
}

}  // namespace

TEST(outage, writes_acknowledged_while_redis_is_down_are_announced_once_it_is_back) {
  auto& pg = shared_postgres();
  if (!pg.available()) PIXHIVE_SKIP_MISSING(std::string("skipping: ") + pg.why());
  redis_server redis{true};
  if (!redis.available()) PIXHIVE_SKIP_MISSING(std::string("skipping: ") + redis.why());
  auto bus = "redis://127.0.0.1:" + std::to_string(redis.port());
  pixhive_server server{{"--access-log", "false", "--db", pg.new_database(), "--bus", bus,
                         "--timelines", bus, "--processing-workers", "1"}};
  auto alice = create_and_login(server, "alice");
  auto bob = create_and_login(server, "bob");
  auto first = upload_jpeg(server.port(), alice, {20, 120, 200});
  ASSERT_EQ(settled_photo(server.port(), first, alice)["status"], "ready");

  redis.stop();
  // Every write commits and is acknowledged; its announcement waits in the outbox.
  EXPECT_EQ(call(server.port(), verb::put, "/api/v1/users/alice/follow", nullptr, bob).status, 200);
  EXPECT_EQ(
      call(server.port(), verb::put, "/api/v1/photos/" + first + "/like", nullptr, bob).status,
      200);
  auto comment = call(server.port(), verb::post, "/api/v1/photos/" + first + "/comments",
                      {{"text", "seen during the outage"}}, bob);
  EXPECT_EQ(comment.status, 201) << comment.body;
  auto second = upload_jpeg(server.port(), alice, {200, 60, 30});
  ASSERT_FALSE(second.empty());

  ASSERT_TRUE(redis.start()) << redis.why();
  EXPECT_EQ(settled_photo(server.port(), second, alice)["status"], "ready")
      << "the upload acknowledged during the outage was never processed";
  for (auto kind : {"follow", "like", "comment"})
    EXPECT_TRUE(
        eventually([&] { return count_notifications(server.port(), alice, kind) == 1; }, 30s))
        << kind << ": " << count_notifications(server.port(), alice, kind);
  std::string report;
  EXPECT_TRUE(eventually([&] { return pending_entries(redis.port()) == 0; }, 30s))
      << pending_entries(redis.port(), &report) << " entries left pending:\n"
      << report;
  auto comments = call(server.port(), verb::get, "/api/v1/photos/" + first + "/comments");
  EXPECT_EQ(comments.json()["comments"].size(), 1u) << comments.body;
  // Nothing is announced twice once things settle.
  for (auto kind : {"follow", "like", "comment"})
    EXPECT_EQ(count_notifications(server.port(), alice, kind), 1) << kind;
  // And the process still stops on SIGTERM: its bus lets go of connections made after the
  // restart (the shutdown watchdog only starts once the bus has stopped).
  server.process().signal(SIGTERM);
  EXPECT_TRUE(server.process().wait_exit(15s).has_value()) << "SIGTERM did not stop the server";
}

TEST(outage, replicas_starting_together_on_an_empty_database_all_migrate) {
  auto& pg = shared_postgres();
  if (!pg.available()) PIXHIVE_SKIP_MISSING(std::string("skipping: ") + pg.why());
  auto url = pg.new_database();
  std::vector<std::future<std::string>> replicas;
  for (int i = 0; i < 8; ++i)
    replicas.push_back(std::async(std::launch::async, [url]() -> std::string {
      auto db = pixhive::store::database::open(url, 1);
      if (!db) return pixhive::to_problem(db.error()).message;
      auto m = pixhive::store::migrate(**db, "race", {{1, "CREATE TABLE race (id BIGINT)"}});
      return m ? "" : pixhive::to_problem(m.error()).message;
    }));
  for (auto& r : replicas) EXPECT_EQ(r.get(), "");
}

TEST(outage, a_postgres_restart_costs_no_request_after_it_is_back) {
  postgres_server pg;
  if (!pg.available()) PIXHIVE_SKIP_MISSING(std::string("skipping: ") + pg.why());
  pixhive_server server{{"--access-log", "false", "--db", pg.new_database(), "--auth-workers", "2",
                         "--graph-workers", "2"}};
  auto alice = create_and_login(server, "alice");
  auto bob = create_and_login(server, "bob");
  auto photo = upload_jpeg(server.port(), alice, {90, 90, 200});
  ASSERT_EQ(settled_photo(server.port(), photo, alice)["status"], "ready");
  // Warm every pooled connection, so each of them meets the restart.
  for (int i = 0; i < 8; ++i)
    ASSERT_EQ(call(server.port(), verb::get, "/api/v1/users/me", nullptr, bob).status, 200);

  pg.stop();
  auto down = call(server.port(), verb::get, "/api/v1/users/me", nullptr, bob);
  EXPECT_EQ(down.status, 503) << down.body;
  EXPECT_EQ(call(server.port(), verb::get, "/healthz").status, 200);
  ASSERT_TRUE(pg.start()) << pg.why();

  // The first requests after the restart succeed: stale pooled connections are replaced, not
  // handed to requests.
  for (int i = 0; i < 8; ++i) {
    auto r = call(server.port(), verb::get, "/api/v1/users/me", nullptr, bob);
    EXPECT_EQ(r.status, 200) << i << ": " << r.body;
  }
  auto c = call(server.port(), verb::post, "/api/v1/photos/" + photo + "/comments",
                {{"text", "after the restart"}}, bob);
  EXPECT_EQ(c.status, 201) << c.body;
  EXPECT_TRUE(
      eventually([&] { return count_notifications(server.port(), alice, "comment") == 1; }, 30s));
}
