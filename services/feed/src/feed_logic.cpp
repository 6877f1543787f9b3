#include "feed_logic.hpp"

#include <algorithm>
#include <limits>

#include <prometheus/counter.h>

#include "pixhive/bus/payload.hpp"
#include "pixhive/contracts/events.hpp"
#include "pixhive/core/ask.hpp"
#include "pixhive/core/log.hpp"
#include "pixhive/metrics/metrics.hpp"

namespace pixhive::feed {

using namespace contracts;

namespace {

/// Statements name at most this many owners at once (SQLite allows 500 terms in a UNION).
constexpr size_t chunk = 200;

struct feed_metrics {
  prometheus::Family<prometheus::Counter>& timeline_writes;
  prometheus::Counter& rebuilds;
  static feed_metrics& get() {
    static auto& rebuild_family = prometheus::BuildCounter()
                                      .Name("pixhive_feed_timeline_rebuilds_total")
                                      .Help("Home timelines rebuilt from the database")
                                      .Register(metrics::registry());
    static feed_metrics m{prometheus::BuildCounter()
                              .Name("pixhive_feed_fanout_total")
                              .Help("Photos written into home timelines, by kind (fanout: a "
                                    "new photo to followers; skipped: a celebrity's photo)")
                              .Register(metrics::registry()),
                          rebuild_family.Add({})};
    return m;
  }
};

/// Newest first, no repeats.
void newest_first(std::vector<int64_t>& ids) {
  std::sort(ids.rbegin(), ids.rend());
  ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
}

}  // namespace

logic::logic(caf::actor_system& sys, std::shared_ptr<store::database> db,
             std::shared_ptr<timeline_store> timelines, card_sources from, const feed_config& cfg)
    : sys_(&sys),
      db_(std::move(db)),
      timelines_(std::move(timelines)),
      from_(std::move(from)),
      cfg_(cfg) {
  feed_metrics::get();
}

result<relation_list> logic::relations(int64_t user, bool followers) {
  return ask_blocking<relation_list>(*sys_, from_.graph, relations_request{user, followers});
}

result<std::vector<int64_t>> logic::posts_of(const std::vector<int64_t>& owners, int64_t self,
                                             int64_t before, size_t limit) {
  auto upper = before ? before : std::numeric_limits<int64_t>::max();
  std::vector<int64_t> out;
  auto run = [&](const std::string& where, std::vector<store::value> params) -> result<void> {
    params.emplace_back(upper);
    params.emplace_back(static_cast<int64_t>(limit));
    auto rows = db_->query("SELECT photo_id FROM feed_posts WHERE " + where +
                               " AND photo_id < ? ORDER BY photo_id DESC LIMIT ?",
                           params);
    if (!rows) return rows.error();
    for (auto& r : *rows) out.push_back(r.int_at(0));
    return caf::unit;
  };
  // One's own photos, public and private, each a bounded range of the (owner_id, public,
  // photo_id) index.
  if (self)
    for (int64_t is_public : {0, 1})
      if (auto r = run("owner_id = ? AND public = ?", {self, is_public}); !r) return r.error();
  // Each owner's newest `limit` through that index, then the newest of those: an IN list would
  // read every photo of every owner before sorting.
  for (size_t i = 0; i < owners.size(); i += chunk) {
    auto n = std::min(chunk, owners.size() - i);
    std::string sql;
    std::vector<store::value> params;
    for (size_t j = 0; j < n; ++j) {
      sql += j ? " UNION ALL " : "";
      sql +=
          "SELECT * FROM (SELECT photo_id FROM feed_posts WHERE owner_id = ? AND public = 1 "
          "AND photo_id < ? ORDER BY photo_id DESC LIMIT ?) t" +
          std::to_string(j);
      params.insert(params.end(), {owners[i + j], upper, static_cast<int64_t>(limit)});
    }
    params.emplace_back(static_cast<int64_t>(limit));
    auto rows =
        db_->query("SELECT photo_id FROM (" + sql + ") u ORDER BY photo_id DESC LIMIT ?", params);
    if (!rows) return rows.error();
    for (auto& r : *rows) out.push_back(r.int_at(0));
  }
  newest_first(out);
  if (out.size() > limit) out.resize(limit);
  return out;
}

result<card_page> logic::cards_page(const viewer& who, std::vector<int64_t> ids, int32_t limit) {
  card_page page;
  if (ids.size() > static_cast<size_t>(limit)) {
    ids.resize(limit);
    page.next_cursor = ids.back();
  }
  auto cards = load_cards(*sys_, from_, who, ids);
  if (!cards) return cards.error();
  page.items = std::move(*cards);
  return page;
}

result<card_page> logic::handle(const home_feed_request& req) {
  if (!req.who.user_id) return make_error(errc::unauthorized, "unauthorized", "sign in first");
  auto limit = std::clamp<int32_t>(req.limit, 1, 100);
  auto me = req.who.user_id;
  auto followees = relations(me, false);
  if (!followees) return followees.error();
  std::vector<int64_t> fanned, celebrities;
  for (size_t i = 0; i < followees->ids.size(); ++i)
    (followees->follower_counts[i] > cfg_.celebrity_threshold ? celebrities : fanned)
        .push_back(followees->ids[i]);

  auto exists = timelines_->exists(me);
  if (!exists) return exists.error();
  if (!*exists) {
    // A new replica, an evicted key or a first visit: the database has everything needed. The
    // empty timeline exists before the read, so a photo fanned out meanwhile lands in it, and
    // one stored before is in the read (fan-out stores the post before it looks for timelines).
    if (auto r = timelines_->rebuild(me, {}); !r) return r.error();
    auto posts = posts_of(fanned, me, 0, cfg_.timeline_cap);
    if (!posts) return posts.error();
    if (auto r = timelines_->add({me}, *posts); !r) return r.error();
    feed_metrics::get().rebuilds.Increment();
  }
  auto ids = timelines_->page(me, req.cursor, limit + 1);
  if (!ids) return ids.error();
  if (!celebrities.empty()) {
    auto merged = posts_of(celebrities, 0, req.cursor, limit + 1);
    if (!merged) return merged.error();
    ids->insert(ids->end(), merged->begin(), merged->end());
    newest_first(*ids);
  }
  return cards_page(req.who, std::move(*ids), limit);
}

result<card_page> logic::handle(const public_feed_request& req) {
  auto limit = std::clamp<int32_t>(req.limit, 1, 100);
  auto rows = db_->query(
      "SELECT photo_id FROM feed_posts WHERE public = 1 AND photo_id < ? "
      "ORDER BY photo_id DESC LIMIT ?",
      {req.cursor ? req.cursor : std::numeric_limits<int64_t>::max(), int64_t{limit + 1}});
  if (!rows) return rows.error();
  std::vector<int64_t> ids;
  for (auto& r : *rows) ids.push_back(r.int_at(0));
  return cards_page(req.who, std::move(ids), limit);
}

result<void> logic::on_processed(int64_t photo_id) {
  // The photo's own record says who may see it and when it was taken in.
  auto photo = ask_blocking<photo_view>(*sys_, from_.media,
                                        get_photo_request{photo_id, viewer{0, "feed", true}});
  if (!photo) {
    if (to_problem(photo.error()).kind == errc::not_found) return caf::unit;  // deleted since
    return photo.error();
  }
  bool is_public = photo->visibility == "public";
  auto r = db_->query(
      "INSERT INTO feed_posts (photo_id, owner_id, public, created_at) VALUES (?, ?, ?, ?) "
      "ON CONFLICT (photo_id) DO NOTHING",
      {photo->id, photo->owner_id, int64_t{is_public ? 1 : 0}, photo->created_at});
  if (!r) return r.error();
  std::vector<int64_t> readers{photo->owner_id};
  if (is_public) {
    auto followers = relations(photo->owner_id, true);
    if (!followers) return followers.error();
    if (static_cast<int64_t>(followers->ids.size()) > cfg_.celebrity_threshold)
      feed_metrics::get().timeline_writes.Add({{"kind", "skipped"}}).Increment();
    else
      readers.insert(readers.end(), followers->ids.begin(), followers->ids.end());
  }
  feed_metrics::get()
      .timeline_writes.Add({{"kind", "fanout"}})
      .Increment(static_cast<double>(readers.size()));
  return timelines_->add(readers, {photo->id});
}

result<void> logic::on_deleted(int64_t photo_id, int64_t owner_id) {
  if (auto r = db_->query("DELETE FROM feed_posts WHERE photo_id = ?", {photo_id}); !r)
    return r.error();
  auto followers = relations(owner_id, true);
  if (!followers) return followers.error();
  auto readers = followers->ids;
  readers.push_back(owner_id);
  return timelines_->remove(readers, {photo_id});
}

result<void> logic::sync_follow(int64_t follower, int64_t followee) {
  auto followees = relations(follower, false);
  if (!followees) return followees.error();
  auto& ids = followees->ids;
  auto it = std::find(ids.begin(), ids.end(), followee);
  auto posts = posts_of({followee}, 0, 0, cfg_.timeline_cap);
  if (!posts) return posts.error();
  if (it == ids.end()) return timelines_->remove({follower}, *posts);
  if (followees->follower_counts[it - ids.begin()] > cfg_.celebrity_threshold) return caf::unit;
  return timelines_->add({follower}, *posts);
}

result<void> logic::apply_event(const bus::event& e) {
  // Redelivery cannot fix a malformed payload: it is logged and acknowledged.
  auto bad = [&] {
    log::warn("feed_bad_event", {{"type", e.type}});
    return caf::unit;
  };
  if (e.type == events::photo_processed.name) {
    auto ev = bus::read<photo_processed>(e);
    return ev ? on_processed(ev->photo_id) : bad();
  }
  if (e.type == events::photo_deleted.name) {
    auto ev = bus::read<photo_deleted>(e);
    return ev ? on_deleted(ev->photo_id, ev->owner_id) : bad();
  }
  if (e.type == events::follow_created.name || e.type == events::follow_deleted.name) {
    auto ev = bus::read<follow_changed>(e);
    return ev ? sync_follow(ev->follower_id, ev->followee_id) : bad();
  }
  return caf::unit;
}

result<done> logic::handle(const ping_request&) {
  if (auto r = db_->query("SELECT 1"); !r) return r.error();
  if (auto r = timelines_->exists(0); !r) return r.error();
  return done{};
}

}  // namespace pixhive::feed
