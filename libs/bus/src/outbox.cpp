#include "pixhive/bus/outbox.hpp"

#include <algorithm>
#include <random>

#include "pixhive/core/ids.hpp"
#include "pixhive/core/log.hpp"
#include "pixhive/metrics/metrics.hpp"

namespace pixhive::bus {

namespace {

// Most events are relayed at once (wake after commit); the poll picks up rows another replica
// committed, or left behind when it died.
constexpr auto poll_every = std::chrono::milliseconds(500);
constexpr auto max_backoff = std::chrono::milliseconds(5'000);
constexpr int64_t batch = 256;

struct outbox_metrics {
  prometheus::Family<prometheus::Counter>& relayed =
      prometheus::BuildCounter()
          .Name("pixhive_outbox_relayed_total")
          .Help("Events published from the outbox to the bus")
          .Register(metrics::registry());
  prometheus::Family<prometheus::Counter>& failures =
      prometheus::BuildCounter()
          .Name("pixhive_outbox_publish_failures_total")
          .Help("Relay passes that stopped on a failed publish (the events stay stored)")
          .Register(metrics::registry());
  prometheus::Family<prometheus::Gauge>& oldest =
      prometheus::BuildGauge()
          .Name("pixhive_outbox_oldest_event_age_seconds")
          .Help("Age of the oldest event still waiting in the outbox (0 when empty)")
          .Register(metrics::registry());
  static outbox_metrics& get() {
    static outbox_metrics m;
    return m;
  }
};

int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

result<void> outbox::migrate(store::database& db, const std::string& service) {
  if (service.empty() || !std::all_of(service.begin(), service.end(),
                                      [](char c) { return (c >= 'a' && c <= 'z') || c == '_'; }))
    return make_error(errc::invalid_argument, "bad_config", "bad outbox name '" + service + "'");
  auto table = service + "_outbox";
  return store::migrate(db, table,
                        {{1, "CREATE TABLE " + table +
                                 " (id BIGINT PRIMARY KEY, type TEXT NOT NULL, payload TEXT NOT "
                                 "NULL, created_ms BIGINT NOT NULL)"}});
}

outbox::outbox(std::string service, std::shared_ptr<store::database> db,
               std::shared_ptr<event_bus> events)
    : service_(std::move(service)),
      table_(service_ + "_outbox"),
      db_(std::move(db)),
      events_(std::move(events)) {
  if (events_) relay_ = std::thread([this] { run(); });
}

outbox::~outbox() {
  stop();
}

result<void> outbox::add(store::connection& c, std::string_view type, const std::string& payload) {
  auto r = c.query("INSERT INTO " + table_ + " (id, type, payload, created_ms) VALUES (?, ?, ?, ?)",
                   {next_id(), std::string(type), payload, now_ms()});
  if (!r) return r.error();
  return caf::unit;
}

void outbox::wake() {
  {
    std::lock_guard<std::mutex> guard{mtx_};
    woken_ = true;
  }
  cv_.notify_one();
}

result<int64_t> outbox::relay_now() {
  if (!events_) return int64_t{0};
  auto& m = outbox_metrics::get();
  // The poll mostly finds nothing: a plain read says so without taking a write transaction.
  auto any = db_->query("SELECT 1 FROM " + table_ + " LIMIT 1");
  if (!any) return any.error();
  if (any->empty()) {
    m.oldest.Add({{"service", service_}}).Set(0);
    return int64_t{0};
  }
  caf::error failed;
  int64_t oldest_ms = 0;
  auto relayed = db_->transaction([&](store::connection& c) -> result<int64_t> {
    if (c.dialect() == store::dialect::postgres) {
      auto mine = c.query("SELECT pg_try_advisory_xact_lock(hashtext(?))", {table_});
      if (!mine) return mine.error();
      if (mine->empty() || mine->front().int_at(0) == 0) return int64_t{0};  // another replica
    }
    auto rows = c.query(
        "SELECT id, type, payload, created_ms FROM " + table_ + " ORDER BY id LIMIT ?", {batch});
    if (!rows) return rows.error();
    std::vector<store::value> sent;
    for (auto& r : *rows) {
      if (auto p = events_->publish(r.str_at(1), r.str_at(2), r.int_at(0)); !p) {
        failed = p.error();
        oldest_ms = r.int_at(3);
        break;
      }
      sent.push_back(r.int_at(0));
    }
    if (!sent.empty()) {
      auto d = c.query(
          "DELETE FROM " + table_ + " WHERE id IN (" + store::placeholders(sent.size()) + ")",
          sent);
      if (!d) return d.error();
    }
    if (!failed && static_cast<int64_t>(rows->size()) == batch) oldest_ms = rows->back().int_at(3);
    return static_cast<int64_t>(sent.size());
  });
  if (relayed && *relayed) m.relayed.Add({{"service", service_}}).Increment(double(*relayed));
  m.oldest.Add({{"service", service_}})
      .Set(oldest_ms ? std::max<double>(0, double(now_ms() - oldest_ms) / 1000) : 0);
  if (!relayed) return relayed.error();
  if (failed) {
    m.failures.Add({{"service", service_}}).Increment();
    return failed;
  }
  return relayed;
}

void outbox::run() {
  auto backoff = std::chrono::milliseconds(0);
  std::unique_lock<std::mutex> lock{mtx_};
  while (!stopping_) {
    if (backoff.count())
      cv_.wait_for(lock, backoff, [&] { return stopping_; });
    else
      cv_.wait_for(lock, poll_every, [&] { return woken_ || stopping_; });
    woken_ = false;
    lock.unlock();
    auto r = relay_now();
    lock.lock();
    if (!r) {
      // Jittered, so replicas that lost the bus together do not retry in lockstep.
      auto next = std::clamp(backoff * 2, std::chrono::milliseconds(100), max_backoff);
      thread_local std::minstd_rand rng{std::random_device{}()};
      backoff = next - std::chrono::milliseconds(rng() % (next.count() / 4 + 1));
      log::sampled(log::level::warn, "outbox_relay_failed",
                   {{"service", service_}, {"error", to_problem(r.error()).message}}, 1);
    } else {
      backoff = std::chrono::milliseconds(0);
      if (*r == batch) woken_ = true;  // more may be waiting
    }
  }
}

void outbox::stop() {
  {
    std::lock_guard<std::mutex> guard{mtx_};
    if (stopping_) return;
    stopping_ = true;
  }
  cv_.notify_one();
  if (relay_.joinable()) relay_.join();
  // What committed since the last pass goes out now, while the bus still runs.
  if (events_) (void)relay_now();
}

}  // namespace pixhive::bus
