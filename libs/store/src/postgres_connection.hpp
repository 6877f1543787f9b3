#pragma once

#include <map>
#include <string>

#include <libpq-fe.h>

#include "pixhive/store/sql.hpp"

namespace pixhive::store {

/// A libpq connection; `?` placeholders are rewritten to `$n` once per statement text.
class postgres_connection final : public connection {
 public:
  static result<std::unique_ptr<connection>> open(const std::string& url);
  ~postgres_connection() override;

  result<void> exec_script(std::string_view sql) override;
  std::string_view begin_statement() const override { return "BEGIN"; }
  store::dialect dialect() const override { return dialect::postgres; }
  bool healthy() const override { return PQstatus(conn_) == CONNECTION_OK; }
  bool still_open() override;

 protected:
  result<rows> run(std::string_view sql, const std::vector<value>& params) override;

 private:
  explicit postgres_connection(PGconn* c) : conn_(c) {}
  caf::error failure(PGresult* res);
  const std::string& rewrite(std::string_view sql);

  PGconn* conn_;
  std::map<std::string, std::string, std::less<>> rewritten_;
};

}  // namespace pixhive::store
