#pragma once

#include <map>
#include <string>

#include <sqlite3.h>

#include "pixhive/store/sql.hpp"

namespace pixhive::store {

/// A SQLite connection in WAL mode with a busy timeout and a cache of prepared statements.
class sqlite_connection final : public connection {
 public:
  static result<std::unique_ptr<connection>> open(const std::string& path);
  ~sqlite_connection() override;

  result<void> exec_script(std::string_view sql) override;
  std::string_view begin_statement() const override { return "BEGIN IMMEDIATE"; }
  store::dialect dialect() const override { return dialect::sqlite; }
  bool healthy() const override { return true; }

 protected:
  result<rows> run(std::string_view sql, const std::vector<value>& params) override;

 private:
  explicit sqlite_connection(sqlite3* db) : db_(db) {}
  caf::error failure(int rc);

  sqlite3* db_;
  std::map<std::string, sqlite3_stmt*, std::less<>> statements_;
};

}  // namespace pixhive::store
