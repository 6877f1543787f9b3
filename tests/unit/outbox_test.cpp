#include <atomic>
#include <mutex>
#include <set>

#include <gtest/gtest.h>

#include "pixhive/bus/outbox.hpp"
#include "pixhive/bus/payload.hpp"
#include "pixhive/contracts/events.hpp"
#include "support.hpp"

using namespace pixhive;
using namespace std::chrono_literals;
using pixhive::testing::eventually;
using pixhive::testing::temp_dir;

namespace {

/// The in-process bus behind a switch: while `down`, every publish fails as a lost Redis would.
class switchable_bus final : public bus::event_bus {
 public:
  using event_bus::publish;
  result<void> publish(const std::string& type, std::string payload, int64_t id) override {
    if (down) return make_error(errc::unavailable, "bus_error", "Redis: connection refused");
    return inner_->publish(type, std::move(payload), id);
  }
  void subscribe(const std::string& group, std::vector<std::string> types, bus::handler fn,
                 int concurrency) override {
    inner_->subscribe(group, std::move(types), std::move(fn), concurrency);
  }
  int max_attempts() const override { return inner_->max_attempts(); }
  bool durable() const override { return true; }
  void broadcast(const std::string&, const std::string&) override {}
  std::shared_ptr<void> listen(const std::string&,
                               std::function<void(const std::string&)>) override {
    return nullptr;
  }
  void stop() override { inner_->stop(); }

  std::atomic<bool> down{false};

 private:
  std::unique_ptr<bus::event_bus> inner_ = bus::make_in_process_bus();
};

struct received {
  std::mutex mtx;
  std::vector<bus::event> events;
  size_t size() {
    std::lock_guard<std::mutex> g{mtx};
    return events.size();
  }
};

struct fixture {
  temp_dir dir;
  std::shared_ptr<store::database> db;
  std::shared_ptr<switchable_bus> events = std::make_shared<switchable_bus>();
  received got;

  fixture() {
    db = *store::database::open("sqlite:" + dir.path() + "/t.db");
    EXPECT_TRUE(bus::outbox::migrate(*db, "graph"));
    EXPECT_TRUE(db->query("CREATE TABLE comments (id BIGINT PRIMARY KEY, text TEXT)"));
    events->subscribe(
        "notifications", {"comment.created"},
        [this](const bus::event& e) -> result<void> {
          std::lock_guard<std::mutex> g{got.mtx};
          got.events.push_back(e);
          return caf::unit;
        },
        1);
  }

  /// A write that announces itself, as the services do it.
  result<void> comment(bus::outbox& box, int64_t id, bool fail_after_insert = false) {
    auto r = db->transaction([&](store::connection& c) -> result<void> {
      if (auto q = c.query("INSERT INTO comments (id, text) VALUES (?, 'hi')", {id}); !q)
        return q.error();
      if (auto o = box.add(c, "comment.created", std::to_string(id)); !o) return o.error();
      if (fail_after_insert) return make_error(errc::internal, "late", "failed after the insert");
      return caf::unit;
    });
    if (r) box.wake();
    return r;
  }

  int64_t stored() { return db->query("SELECT COUNT(*) FROM graph_outbox")->front().int_at(0); }
};

}  // namespace

TEST(outbox, a_committed_write_is_announced_and_a_rolled_back_one_is_not) {
  fixture f;
  bus::outbox box{"graph", f.db, f.events};
  ASSERT_TRUE(f.comment(box, 1));
  ASSERT_FALSE(f.comment(box, 2, true));
  ASSERT_TRUE(f.comment(box, 3));
  ASSERT_TRUE(eventually([&] { return f.got.size() == 2; }));
  box.stop();
  f.events->stop();
  std::lock_guard<std::mutex> g{f.got.mtx};
  ASSERT_EQ(f.got.events.size(), 2u);
  EXPECT_EQ(f.got.events[0].payload, "1");
  EXPECT_EQ(f.got.events[1].payload, "3");
  EXPECT_EQ(f.stored(), 0);
}

TEST(outbox, a_bus_outage_delays_announcements_without_failing_or_losing_writes) {
  fixture f;
  bus::outbox box{"graph", f.db, f.events};
  f.events->down = true;
  for (int64_t id = 1; id <= 20; ++id) ASSERT_TRUE(f.comment(box, id));  // the writes succeed
  EXPECT_FALSE(box.relay_now());
  EXPECT_EQ(f.stored(), 20);
  EXPECT_EQ(f.got.size(), 0u);
  f.events->down = false;
  // The relay retries on its own, with backoff: no wake, no new write needed.
  ASSERT_TRUE(eventually([&] { return f.got.size() == 20; }, 15s));
  box.stop();
  f.events->stop();
  std::lock_guard<std::mutex> g{f.got.mtx};
  for (size_t i = 0; i < 20; ++i) EXPECT_EQ(f.got.events[i].payload, std::to_string(i + 1));
  EXPECT_EQ(f.stored(), 0);
}

TEST(outbox, a_republished_event_keeps_its_id_so_consumers_can_recognise_it) {
  fixture f;
  // Stored by a process that had no bus (as `pixhive admin` does), relayed by a later one.
  {
    bus::outbox writer{"graph", f.db, nullptr};
    ASSERT_TRUE(f.comment(writer, 7));
  }
  auto id = f.db->query("SELECT id FROM graph_outbox")->front().int_at(0);
  // A relay that dies after publishing, before deleting, publishes the same event again.
  ASSERT_TRUE(f.events->publish("comment.created", "7", id));
  bus::outbox box{"graph", f.db, f.events};
  ASSERT_TRUE(eventually([&] { return f.got.size() == 2; }));
  box.stop();
  f.events->stop();
  std::lock_guard<std::mutex> g{f.got.mtx};
  EXPECT_EQ(f.got.events[0].id, id);
  EXPECT_EQ(f.got.events[1].id, id);
}

TEST(outbox, a_typed_event_is_stored_as_its_json_under_its_type) {
  fixture f;
  bus::outbox box{"graph", f.db, f.events};
  contracts::comment_created comment{11, 9, 7, 8, "bob", "hi"};
  auto r = f.db->transaction([&](store::connection& c) -> result<void> {
    return box.add(c, contracts::events::comment_created, comment);
  });
  ASSERT_TRUE(r);
  box.wake();
  ASSERT_TRUE(eventually([&] { return f.got.size() == 1; }));
  box.stop();
  f.events->stop();
  std::lock_guard<std::mutex> g{f.got.mtx};
  EXPECT_EQ(f.got.events[0].type, "comment.created");
  EXPECT_EQ(f.got.events[0].payload,
            R"({"author_id":"8","author_username":"bob","comment_id":"11","photo_id":"9",)"
            R"("photo_owner_id":"7","text":"hi"})");
  EXPECT_EQ(bus::read<contracts::comment_created>(f.got.events[0]), comment);
}
