#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "pixhive/core/error.hpp"

namespace pixhive::store {

/// A value bound to a placeholder or read from a column.
using value = std::variant<std::nullptr_t, int64_t, double, std::string>;

/// One result row.
struct row {
  std::vector<value> cols;
  /// True when column `i` is NULL.
  bool is_null(size_t i) const { return std::holds_alternative<std::nullptr_t>(cols.at(i)); }
  /// Column `i` as an integer (0 for NULL).
  int64_t int_at(size_t i) const;
  /// Column `i` as text ("" for NULL).
  std::string str_at(size_t i) const;
};

/// The rows a statement returned.
using rows = std::vector<row>;

/// Which SQL engine a connection talks to.
enum class dialect { sqlite, postgres };

/// One connection to a database. Used by one thread at a time; obtained from a database pool.
class connection {
 public:
  virtual ~connection() = default;
  /// Runs one statement; `?` placeholders are bound to `params` in order, and its time is
  /// recorded in pixhive_db_statement_seconds.
  /// A unique-constraint violation is `errc::conflict`; other failures `errc::unavailable`.
  result<rows> query(std::string_view sql, const std::vector<value>& params = {});
  /// Runs a script of several statements without parameters (migrations).
  virtual result<void> exec_script(std::string_view sql) = 0;
  /// The statement that opens a write transaction.
  virtual std::string_view begin_statement() const = 0;
  /// The engine behind this connection.
  virtual store::dialect dialect() const = 0;
  /// False once the connection is known to be broken, so the pool drops it.
  virtual bool healthy() const = 0;
  /// Looks, without blocking, whether the server closed the connection while it sat idle (a
  /// database restart), so the pool hands out a fresh one instead of failing a request.
  virtual bool still_open() { return healthy(); }

 protected:
  /// The engine's own statement execution, behind query().
  virtual result<rows> run(std::string_view sql, const std::vector<value>& params) = 0;
};

/// A thread-safe pool of connections to one database (SQLite file or PostgreSQL server).
/// Its calls block: run them on actor threads, never on HTTP I/O threads.
class database : public std::enable_shared_from_this<database> {
 public:
  /// Opens `url`: "sqlite:PATH" (or a plain path) or "postgres://user@host:port/db".
  static result<std::shared_ptr<database>> open(const std::string& url, size_t pool_size = 4);

  ~database();

  /// Runs one statement on a pooled connection.
  result<rows> query(std::string_view sql, const std::vector<value>& params = {});

  /// Runs `f(connection&)` inside a transaction: committed when it returns a value, rolled
  /// back when it returns an error.
  template <class F>
  auto transaction(F&& f) -> decltype(f(std::declval<connection&>())) {
    auto conn = acquire();
    if (!conn) return conn.error();
    lease guard{this, std::move(*conn)};
    if (auto r = guard.conn->query(guard.conn->begin_statement()); !r) return r.error();
    auto out = f(*guard.conn);
    if (out) {
      if (auto c = guard.conn->query("COMMIT"); !c) {
        (void)guard.conn->query("ROLLBACK");
        return c.error();
      }
    } else {
      (void)guard.conn->query("ROLLBACK");
    }
    return out;
  }

  /// The engine behind this pool.
  store::dialect dialect() const { return dialect_; }

 private:
  struct lease {
    database* owner;
    std::unique_ptr<connection> conn;
    ~lease() { owner->release(std::move(conn)); }
  };

  /// How long a request waits for PostgreSQL to take connections again (a restart).
  static constexpr std::chrono::seconds reconnect_wait{5};

  database(std::string url, store::dialect d, size_t pool_size);
  result<std::unique_ptr<connection>> acquire();
  void release(std::unique_ptr<connection> conn);
  result<std::unique_ptr<connection>> connect();

  std::string url_;
  store::dialect dialect_;
  size_t pool_size_;
  size_t open_ = 0;
  std::vector<std::unique_ptr<connection>> idle_;
  std::mutex mtx_;
  std::condition_variable cv_;
};

/// "?, ?, …" with `n` placeholders, for `IN (…)` lists.
std::string placeholders(size_t n);

/// One schema step of a service.
struct migration {
  int version;
  std::string sql;
};

/// Applies the steps of `service` not yet recorded in `schema_migrations`, in order, each in its
/// own transaction; safe to run from several replicas at once.
result<void> migrate(database& db, std::string_view service, const std::vector<migration>& steps);

}  // namespace pixhive::store
