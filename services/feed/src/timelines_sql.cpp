#include <algorithm>

#include "pixhive/feed/timelines.hpp"

namespace pixhive::feed {

namespace {

/// Statements name at most this many users at once (SQLite and PostgreSQL bind limits).
constexpr size_t chunk = 500;

class sql_timelines : public timeline_store {
 public:
  sql_timelines(std::shared_ptr<store::database> db, size_t cap) : db_(std::move(db)), cap_(cap) {}

  result<bool> exists(int64_t user) override {
    auto rows = db_->query("SELECT 1 FROM feed_timeline_users WHERE user_id = ?", {user});
    if (!rows) return rows.error();
    return !rows->empty();
  }

  result<void> rebuild(int64_t user, const std::vector<int64_t>& photos) override {
    auto newest = photos;
    std::sort(newest.rbegin(), newest.rend());
    newest.erase(std::unique(newest.begin(), newest.end()), newest.end());
    if (newest.size() > cap_) newest.resize(cap_);
    return db_->transaction([&](store::connection& c) -> result<void> {
      if (auto r = c.query("DELETE FROM feed_timelines WHERE user_id = ?", {user}); !r)
        return r.error();
      for (size_t i = 0; i < newest.size(); i += chunk) {
        auto n = std::min(chunk, newest.size() - i);
        std::string sql = "INSERT INTO feed_timelines (user_id, photo_id) VALUES ";
        std::vector<store::value> params;
        for (size_t j = 0; j < n; ++j) {
          sql += j ? ", (?, ?)" : "(?, ?)";
          params.emplace_back(user);
          params.emplace_back(newest[i + j]);
        }
        if (auto r = c.query(sql, params); !r) return r.error();
      }
      if (auto r = c.query("INSERT INTO feed_timeline_users (user_id) VALUES (?) "
                           "ON CONFLICT (user_id) DO NOTHING",
                           {user});
          !r)
        return r.error();
      return caf::unit;
    });
  }

  result<void> add(const std::vector<int64_t>& users, const std::vector<int64_t>& photos) override {
    if (photos.empty()) return caf::unit;
    for (size_t i = 0; i < users.size(); i += chunk) {
      auto n = std::min(chunk, users.size() - i);
      std::vector<store::value> ids(users.begin() + i, users.begin() + i + n);
      auto existing = db_->query("SELECT user_id FROM feed_timeline_users WHERE user_id IN (" +
                                     store::placeholders(n) + ")",
                                 ids);
      if (!existing) return existing.error();
      if (existing->empty()) continue;
      // Every (user, photo) pair, 400 rows per statement.
      std::vector<std::pair<int64_t, int64_t>> pairs;
      for (auto& u : *existing)
        for (auto p : photos) pairs.emplace_back(u.int_at(0), p);
      for (size_t p = 0; p < pairs.size(); p += 400) {
        auto pn = std::min<size_t>(400, pairs.size() - p);
        std::string sql = "INSERT INTO feed_timelines (user_id, photo_id) VALUES ";
        std::vector<store::value> params;
        for (size_t j = 0; j < pn; ++j) {
          sql += j ? ", (?, ?)" : "(?, ?)";
          params.emplace_back(pairs[p + j].first);
          params.emplace_back(pairs[p + j].second);
        }
        if (auto r = db_->query(sql + " ON CONFLICT (user_id, photo_id) DO NOTHING", params); !r)
          return r.error();
      }
      for (auto& u : *existing)
        if (auto r = trim(u.int_at(0)); !r) return r.error();
    }
    return caf::unit;
  }

  result<void> remove(const std::vector<int64_t>& users,
                      const std::vector<int64_t>& photos) override {
    if (photos.empty()) return caf::unit;
    for (size_t p = 0; p < photos.size(); p += chunk) {
      auto pn = std::min(chunk, photos.size() - p);
      for (size_t i = 0; i < users.size(); i += chunk) {
        auto n = std::min(chunk, users.size() - i);
        std::vector<store::value> params(users.begin() + i, users.begin() + i + n);
        params.insert(params.end(), photos.begin() + p, photos.begin() + p + pn);
        if (auto r = db_->query("DELETE FROM feed_timelines WHERE user_id IN (" +
                                    store::placeholders(n) + ") AND photo_id IN (" +
                                    store::placeholders(pn) + ")",
                                params);
            !r)
          return r.error();
      }
    }
    return caf::unit;
  }

  result<std::vector<int64_t>> page(int64_t user, int64_t before, int limit) override {
    auto rows = db_->query(
        "SELECT photo_id FROM feed_timelines WHERE user_id = ? AND photo_id < ? "
        "ORDER BY photo_id DESC LIMIT ?",
        {user, before ? before : std::numeric_limits<int64_t>::max(), int64_t{limit}});
    if (!rows) return rows.error();
    std::vector<int64_t> out;
    for (auto& r : *rows) out.push_back(r.int_at(0));
    return out;
  }

 private:
  /// Drops what is below the cap-th newest entry: two index range reads.
  result<void> trim(int64_t user) {
    auto cut = db_->query(
        "SELECT photo_id FROM feed_timelines WHERE user_id = ? ORDER BY photo_id DESC LIMIT 1 "
        "OFFSET ?",
        {user, static_cast<int64_t>(cap_)});
    if (!cut) return cut.error();
    if (cut->empty()) return caf::unit;
    if (auto r = db_->query("DELETE FROM feed_timelines WHERE user_id = ? AND photo_id <= ?",
                            {user, cut->front().int_at(0)});
        !r)
      return r.error();
    return caf::unit;
  }

  std::shared_ptr<store::database> db_;
  size_t cap_;
};

}  // namespace

std::unique_ptr<timeline_store> make_sql_timelines(std::shared_ptr<store::database> db,
                                                   size_t cap) {
  return std::make_unique<sql_timelines>(std::move(db), cap);
}

}  // namespace pixhive::feed
