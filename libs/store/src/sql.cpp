#include "pixhive/store/sql.hpp"

#include <algorithm>
#include <chrono>
#include <thread>

#include "pixhive/core/ids.hpp"
#include "pixhive/core/log.hpp"
#include "pixhive/metrics/metrics.hpp"
#include "postgres_connection.hpp"
#include "sqlite_connection.hpp"

namespace pixhive::store {

namespace {

struct pool_metrics {
  prometheus::Histogram& wait;
  prometheus::Gauge& in_use;
  prometheus::Gauge& size;
  prometheus::Family<prometheus::Histogram>& statements;

  static pool_metrics& get() {
    static pool_metrics m{
        prometheus::BuildHistogram()
            .Name("pixhive_db_pool_wait_seconds")
            .Help("Time a caller waited for a pooled database connection (connecting included)")
            .Register(metrics::registry())
            .Add({}, metrics::latency_buckets()),
        prometheus::BuildGauge()
            .Name("pixhive_db_pool_in_use")
            .Help("Database connections handed out and not yet returned")
            .Register(metrics::registry())
            .Add({}),
        prometheus::BuildGauge()
            .Name("pixhive_db_pool_size")
            .Help("Database connections the pools may open")
            .Register(metrics::registry())
            .Add({}),
        prometheus::BuildHistogram()
            .Name("pixhive_db_statement_seconds")
            .Help("Time of one SQL statement, by backend")
            .Register(metrics::registry())};
    return m;
  }
};

}  // namespace

result<rows> connection::query(std::string_view sql, const std::vector<value>& params) {
  static auto& pg =
      pool_metrics::get().statements.Add({{"backend", "postgres"}}, metrics::latency_buckets());
  static auto& lite =
      pool_metrics::get().statements.Add({{"backend", "sqlite"}}, metrics::latency_buckets());
  auto start = std::chrono::steady_clock::now();
  auto out = run(sql, params);
  (dialect() == dialect::postgres ? pg : lite)
      .Observe(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  return out;
}

int64_t row::int_at(size_t i) const {
  const auto& v = cols.at(i);
  if (auto p = std::get_if<int64_t>(&v)) return *p;
  if (auto p = std::get_if<double>(&v)) return static_cast<int64_t>(*p);
  if (auto p = std::get_if<std::string>(&v)) return std::stoll(*p);
  return 0;
}

std::string row::str_at(size_t i) const {
  const auto& v = cols.at(i);
  if (auto p = std::get_if<std::string>(&v)) return *p;
  if (auto p = std::get_if<int64_t>(&v)) return std::to_string(*p);
  if (auto p = std::get_if<double>(&v)) return std::to_string(*p);
  return {};
}

result<std::shared_ptr<database>> database::open(const std::string& url, size_t pool_size) {
  store::dialect d = dialect::sqlite;
  if (url.rfind("postgres://", 0) == 0 || url.rfind("postgresql://", 0) == 0) d = dialect::postgres;
  std::shared_ptr<database> db{new database(url, d, pool_size == 0 ? 1 : pool_size)};
  // Open one connection now so that a wrong URL stops start-up with a clear message.
  auto first = db->acquire();
  if (!first) return first.error();
  db->release(std::move(*first));
  return db;
}

database::database(std::string url, store::dialect d, size_t pool_size)
    : url_(std::move(url)), dialect_(d), pool_size_(pool_size) {
  pool_metrics::get().size.Increment(static_cast<double>(pool_size_));
}

database::~database() {
  pool_metrics::get().size.Decrement(static_cast<double>(pool_size_));
}

result<std::unique_ptr<connection>> database::connect() {
  if (dialect_ == dialect::postgres) return postgres_connection::open(url_);
  std::string path = url_.rfind("sqlite:", 0) == 0 ? url_.substr(7) : url_;
  return sqlite_connection::open(path);
}

result<std::unique_ptr<connection>> database::acquire() {
  auto& m = pool_metrics::get();
  auto start = std::chrono::steady_clock::now();
  auto waited = [&] {
    m.wait.Observe(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  };
  std::unique_lock<std::mutex> lock{mtx_};
  if (!cv_.wait_for(lock, std::chrono::seconds(10),
                    [&] { return !idle_.empty() || open_ < pool_size_; })) {
    waited();
    return make_error(errc::unavailable, "db_busy", "no database connection became free in time");
  }
  while (!idle_.empty()) {
    auto c = std::move(idle_.back());
    idle_.pop_back();
    if (c->still_open()) {
      waited();
      m.in_use.Increment();
      return c;
    }
    --open_;  // the server went away (a restart): connect afresh below
  }
  ++open_;
  lock.unlock();
  auto c = connect();
  // A PostgreSQL server that restarts refuses connections for a few seconds ("shutting down",
  // "starting up", refused): the request waits that out instead of failing.
  auto until = std::chrono::steady_clock::now() + reconnect_wait;
  for (auto pause = std::chrono::milliseconds(50);
       !c && dialect_ == dialect::postgres && std::chrono::steady_clock::now() + pause < until;
       pause = std::min(pause * 2, std::chrono::milliseconds(500))) {
    std::this_thread::sleep_for(pause);
    c = connect();
  }
  waited();
  if (!c) {
    std::lock_guard<std::mutex> guard{mtx_};
    --open_;
    cv_.notify_one();
  } else {
    m.in_use.Increment();
  }
  return c;
}

void database::release(std::unique_ptr<connection> conn) {
  pool_metrics::get().in_use.Decrement();
  std::lock_guard<std::mutex> guard{mtx_};
  if (conn && conn->healthy())
    idle_.push_back(std::move(conn));
  else
    --open_;
  cv_.notify_one();
}

result<rows> database::query(std::string_view sql, const std::vector<value>& params) {
  auto conn = acquire();
  if (!conn) return conn.error();
  lease guard{this, std::move(*conn)};
  return guard.conn->query(sql, params);
}

result<void> migrate(database& db, std::string_view service, const std::vector<migration>& steps) {
  // Replicas starting together on an empty PostgreSQL database would race on creating the
  // table itself (CREATE TABLE IF NOT EXISTS is not atomic there): they take turns.
  auto table = db.transaction([](connection& c) -> result<void> {
    if (c.dialect() == dialect::postgres)
      if (auto r = c.query("SELECT pg_advisory_xact_lock(hashtext('schema_migrations'))"); !r)
        return r.error();
    if (auto r = c.query(
            "CREATE TABLE IF NOT EXISTS schema_migrations (service TEXT NOT NULL, version BIGINT "
            "NOT NULL, applied_at BIGINT NOT NULL, PRIMARY KEY (service, version))");
        !r)
      return r.error();
    return caf::unit;
  });
  if (!table) return table.error();
  for (const auto& step : steps) {
    auto applied = db.transaction([&](connection& c) -> result<bool> {
      if (c.dialect() == dialect::postgres) {
        // Replicas starting together take turns; the loser sees the step as applied.
        if (auto r = c.query("SELECT pg_advisory_xact_lock(hashtext(?))", {std::string(service)});
            !r)
          return r.error();
      }
      auto seen = c.query("SELECT 1 FROM schema_migrations WHERE service = ? AND version = ?",
                          {std::string(service), int64_t{step.version}});
      if (!seen) return seen.error();
      if (!seen->empty()) return false;
      if (auto r = c.exec_script(step.sql); !r) return r.error();
      if (auto r = c.query(
              "INSERT INTO schema_migrations (service, version, applied_at) VALUES (?, ?, ?)",
              {std::string(service), int64_t{step.version}, unix_now()});
          !r)
        return r.error();
      return true;
    });
    if (!applied) return applied.error();
    if (*applied) log::info("migration_applied", {{"service", service}, {"version", step.version}});
  }
  return caf::unit;
}

std::string placeholders(size_t n) {
  std::string out;
  for (size_t i = 0; i < n; ++i) out += i ? ", ?" : "?";
  return out;
}

}  // namespace pixhive::store
