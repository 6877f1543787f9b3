#include "postgres_connection.hpp"

#include <poll.h>

#include "pixhive/core/log.hpp"

#include <cstdlib>

namespace pixhive::store {

namespace {

// Type OIDs from pg_type.h that map to numbers; everything else is read as text.
constexpr Oid bool_oid = 16, int8_oid = 20, int2_oid = 21, int4_oid = 23, float4_oid = 700,
              float8_oid = 701;

}  // namespace

result<std::unique_ptr<connection>> postgres_connection::open(const std::string& url) {
  PGconn* c = PQconnectdb(url.c_str());
  if (PQstatus(c) != CONNECTION_OK) {
    std::string msg = PQerrorMessage(c);
    PQfinish(c);
    while (!msg.empty() && (msg.back() == '\n' || msg.back() == ' ')) msg.pop_back();
    return make_error(errc::unavailable, "db_unavailable", "cannot connect to PostgreSQL: " + msg);
  }
  PQsetNoticeProcessor(
      c, [](void*, const char*) {}, nullptr);
  // Every statement has a time budget: a request or bus handler never waits on the database
  // longer than a client would wait for it.
  PGresult* set = PQexec(c, "SET statement_timeout = '30s'");
  PQclear(set);
  return std::unique_ptr<connection>{new postgres_connection(c)};
}

postgres_connection::~postgres_connection() {
  PQfinish(conn_);
}

bool postgres_connection::still_open() {
  if (PQstatus(conn_) != CONNECTION_OK) return false;
  // An idle connection that never LISTENs has nothing to read: anything readable is the
  // server's goodbye (a termination notice, then EOF) after a restart or a dropped session.
  pollfd p{PQsocket(conn_), POLLIN, 0};
  return ::poll(&p, 1, 0) == 0;
}

caf::error postgres_connection::failure(PGresult* res) {
  std::string msg = res ? PQresultErrorMessage(res) : PQerrorMessage(conn_);
  const char* state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : nullptr;
  while (!msg.empty() && (msg.back() == '\n' || msg.back() == ' ')) msg.pop_back();
  if (state && std::string_view(state) == "23505") {
    log::debug("db_conflict", {{"detail", msg}});
    return make_error(errc::conflict, "conflict", "the change conflicts with existing data");
  }
  return make_error(errc::unavailable, "db_error", "database error: " + msg);
}

const std::string& postgres_connection::rewrite(std::string_view sql) {
  if (auto it = rewritten_.find(sql); it != rewritten_.end()) return it->second;
  std::string out;
  int n = 0;
  bool in_quote = false;
  for (char ch : sql) {
    if (ch == '\'') in_quote = !in_quote;
    if (ch == '?' && !in_quote)
      out += "$" + std::to_string(++n);
    else
      out += ch;
  }
  return rewritten_.emplace(std::string(sql), std::move(out)).first->second;
}

result<rows> postgres_connection::run(std::string_view sql, const std::vector<value>& params) {
  const auto& text = rewrite(sql);
  std::vector<std::string> storage(params.size());
  std::vector<const char*> values(params.size(), nullptr);
  for (size_t i = 0; i < params.size(); ++i) {
    std::visit(
        [&](const auto& v) {
          using T = std::decay_t<decltype(v)>;
          if constexpr (std::is_same_v<T, std::nullptr_t>)
            return;
          else if constexpr (std::is_same_v<T, std::string>)
            storage[i] = v;
          else
            storage[i] = std::to_string(v);
          values[i] = storage[i].c_str();
        },
        params[i]);
  }
  PGresult* res = PQexecParams(conn_, text.c_str(), static_cast<int>(params.size()), nullptr,
                               values.data(), nullptr, nullptr, 0);
  struct clear_guard {
    PGresult* r;
    ~clear_guard() { PQclear(r); }
  } guard{res};
  auto status = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;
  if (status != PGRES_TUPLES_OK && status != PGRES_COMMAND_OK) return failure(res);
  rows out;
  int nrows = PQntuples(res), ncols = PQnfields(res);
  out.reserve(nrows);
  for (int r = 0; r < nrows; ++r) {
    row rw;
    rw.cols.reserve(ncols);
    for (int c = 0; c < ncols; ++c) {
      if (PQgetisnull(res, r, c)) {
        rw.cols.emplace_back(nullptr);
        continue;
      }
      const char* v = PQgetvalue(res, r, c);
      switch (PQftype(res, c)) {
        case int8_oid:
        case int4_oid:
        case int2_oid:
          rw.cols.emplace_back(int64_t{std::strtoll(v, nullptr, 10)});
          break;
        case bool_oid:
          rw.cols.emplace_back(int64_t{v[0] == 't' ? 1 : 0});
          break;
        case float4_oid:
        case float8_oid:
          rw.cols.emplace_back(std::strtod(v, nullptr));
          break;
        default:
          rw.cols.emplace_back(std::string(v, PQgetlength(res, r, c)));
      }
    }
    out.push_back(std::move(rw));
  }
  return out;
}

result<void> postgres_connection::exec_script(std::string_view sql) {
  std::string s(sql);
  PGresult* res = PQexec(conn_, s.c_str());
  auto status = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;
  caf::error err;
  if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) err = failure(res);
  PQclear(res);
  if (err) return err;
  return caf::unit;
}

}  // namespace pixhive::store
