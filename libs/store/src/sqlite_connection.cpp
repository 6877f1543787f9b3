#include "sqlite_connection.hpp"

#include "pixhive/core/log.hpp"

namespace pixhive::store {

result<std::unique_ptr<connection>> sqlite_connection::open(const std::string& path) {
  sqlite3* db = nullptr;
  int rc = sqlite3_open_v2(
      path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
  if (rc != SQLITE_OK) {
    std::string msg = db ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
    sqlite3_close(db);
    return make_error(errc::unavailable, "db_unavailable",
                      "cannot open SQLite database " + path + ": " + msg);
  }
  std::unique_ptr<sqlite_connection> conn{new sqlite_connection(db)};
  sqlite3_busy_timeout(db, 5000);
  if (auto r = conn->exec_script(
          "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;");
      !r)
    return r.error();
  return std::unique_ptr<connection>{std::move(conn)};
}

sqlite_connection::~sqlite_connection() {
  for (auto& [sql, stmt] : statements_) sqlite3_finalize(stmt);
  sqlite3_close(db_);
}

caf::error sqlite_connection::failure(int rc) {
  std::string msg = sqlite3_errmsg(db_);
  // A constraint message names tables and columns: it goes to the debug log, not to clients.
  if ((rc & 0xff) == SQLITE_CONSTRAINT) {
    log::debug("db_conflict", {{"detail", msg}});
    return make_error(errc::conflict, "conflict", "the change conflicts with existing data");
  }
  return make_error(errc::unavailable, "db_error", "database error: " + msg);
}

result<rows> sqlite_connection::run(std::string_view sql, const std::vector<value>& params) {
  sqlite3_stmt* stmt = nullptr;
  if (auto it = statements_.find(sql); it != statements_.end()) {
    stmt = it->second;
  } else {
    int rc = sqlite3_prepare_v2(db_, sql.data(), static_cast<int>(sql.size()), &stmt, nullptr);
    if (rc != SQLITE_OK) return failure(rc);
    statements_.emplace(std::string(sql), stmt);
  }
  struct reset_guard {
    sqlite3_stmt* s;
    ~reset_guard() {
      sqlite3_reset(s);
      sqlite3_clear_bindings(s);
    }
  } guard{stmt};
  for (size_t i = 0; i < params.size(); ++i) {
    int idx = static_cast<int>(i + 1);
    std::visit(
        [&](const auto& v) {
          using T = std::decay_t<decltype(v)>;
          if constexpr (std::is_same_v<T, std::nullptr_t>)
            sqlite3_bind_null(stmt, idx);
          else if constexpr (std::is_same_v<T, int64_t>)
            sqlite3_bind_int64(stmt, idx, v);
          else if constexpr (std::is_same_v<T, double>)
            sqlite3_bind_double(stmt, idx, v);
          else
            sqlite3_bind_text(stmt, idx, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
        },
        params[i]);
  }
  rows out;
  for (;;) {
    int rc = sqlite3_step(stmt);
    if (rc == SQLITE_DONE) break;
    if (rc != SQLITE_ROW) return failure(rc);
    row r;
    int n = sqlite3_column_count(stmt);
    r.cols.reserve(n);
    for (int c = 0; c < n; ++c) {
      switch (sqlite3_column_type(stmt, c)) {
        case SQLITE_NULL:
          r.cols.emplace_back(nullptr);
          break;
        case SQLITE_INTEGER:
          r.cols.emplace_back(int64_t{sqlite3_column_int64(stmt, c)});
          break;
        case SQLITE_FLOAT:
          r.cols.emplace_back(sqlite3_column_double(stmt, c));
          break;
        default: {
          auto p = reinterpret_cast<const char*>(sqlite3_column_text(stmt, c));
          r.cols.emplace_back(std::string(p, sqlite3_column_bytes(stmt, c)));
        }
      }
    }
    out.push_back(std::move(r));
  }
  return out;
}

result<void> sqlite_connection::exec_script(std::string_view sql) {
  std::string s(sql);
  char* err = nullptr;
  if (sqlite3_exec(db_, s.c_str(), nullptr, nullptr, &err) != SQLITE_OK) {
    std::string msg = err ? err : "unknown error";
    sqlite3_free(err);
    return make_error(errc::unavailable, "db_error", "database error: " + msg);
  }
  return caf::unit;
}

}  // namespace pixhive::store
