#include "graph_logic.hpp"

#include <algorithm>
#include <limits>
#include <map>
#include <tuple>

#include "pixhive/bus/payload.hpp"
#include "pixhive/contracts/events.hpp"
#include "pixhive/core/ask.hpp"
#include "pixhive/core/ids.hpp"
#include "pixhive/core/log.hpp"

namespace pixhive::graph {

using namespace contracts;

namespace {

constexpr size_t max_comment_chars = 2200;

size_t code_points(const std::string& s) {
  return static_cast<size_t>(
      std::count_if(s.begin(), s.end(), [](unsigned char c) { return (c & 0xC0) != 0x80; }));
}

caf::error unauthorized() {
  return make_error(errc::unauthorized, "unauthorized", "sign in first");
}

int32_t clamp_limit(int32_t limit) {
  return std::clamp<int32_t>(limit, 1, 100);
}

/// The upper bound of a newest-first page: ids below the cursor, or all of them.
int64_t before(int64_t cursor) {
  return cursor ? cursor : std::numeric_limits<int64_t>::max();
}

/// Fills `items` from rows of a query that asked for `limit` + 1 rows (id first) and returns
/// the next page's cursor: the last id shown, or 0 when nothing follows.
template <class T, class Make>
int64_t take_page(const store::rows& rows, int32_t limit, std::vector<T>& items, Make make) {
  auto n = std::min(rows.size(), static_cast<size_t>(limit));
  for (size_t i = 0; i < n; ++i) items.push_back(make(rows[i]));
  return rows.size() > n ? rows[n - 1].int_at(0) : 0;
}

/// Adds `delta` to the follower's following count and the followee's follower count.
result<void> count_follow(store::connection& c, int64_t follower, int64_t followee, int64_t delta) {
  for (auto [user, followers, following] :
       {std::tuple{followee, delta, int64_t{0}}, std::tuple{follower, int64_t{0}, delta}})
    if (auto r =
            c.query("INSERT INTO follow_counts (user_id, followers, following) VALUES (?, ?, ?) ON "
                    "CONFLICT (user_id) DO UPDATE SET followers = follow_counts.followers + "
                    "excluded.followers, following = follow_counts.following + excluded.following",
                    {user, followers, following});
        !r)
      return r.error();
  return caf::unit;
}

person to_person(const store::row& r) {
  return {r.int_at(1), r.str_at(2), r.int_at(3)};
}

}  // namespace

logic::logic(caf::actor_system& sys, std::shared_ptr<store::database> db,
             std::shared_ptr<bus::event_bus> events, auth_actor auth, media_actor media)
    : sys_(&sys),
      db_(std::move(db)),
      outbox_(std::make_shared<bus::outbox>("graph", db_, std::move(events))),
      auth_(std::move(auth)),
      media_(std::move(media)) {}

result<user_view> logic::user_named(const std::string& username) {
  return ask_blocking<user_view>(*sys_, auth_, get_profile_request{username});
}

result<photo_view> logic::photo(int64_t id, const viewer& who) {
  return ask_blocking<photo_view>(*sys_, media_, get_photo_request{id, who});
}

result<follow_state> logic::follow_state_of(const user_view& target, int64_t viewer_id) {
  auto r = db_->query(
      "SELECT COALESCE((SELECT followers FROM follow_counts WHERE user_id = ?), 0), "
      "COALESCE((SELECT following FROM follow_counts WHERE user_id = ?), 0), "
      "(SELECT COUNT(*) FROM follows WHERE follower_id = ? AND followee_id = ?)",
      {target.id, target.id, viewer_id, target.id});
  if (!r) return r.error();
  const auto& row = r->front();
  return follow_state{target.username, row.int_at(2) > 0, row.int_at(0), row.int_at(1)};
}

result<follow_state> logic::handle(const follow_request& req) {
  if (!req.who.user_id) return unauthorized();
  auto target = user_named(req.username);
  if (!target) return target.error();
  if (target->id == req.who.user_id)
    return make_error(errc::invalid_argument, "cannot_follow_self", "you cannot follow yourself");
  follow_changed event{req.who.user_id, req.who.username, target->id, target->username};
  if (req.follow) {
    // Idempotent: following twice keeps one row and announces it once.
    auto changed = db_->transaction([&](store::connection& c) -> result<bool> {
      auto r = c.query(
          "INSERT INTO follows (id, follower_id, follower_username, followee_id, "
          "followee_username, created_at) VALUES (?, ?, ?, ?, ?, ?) "
          "ON CONFLICT (follower_id, followee_id) DO NOTHING RETURNING id",
          {next_id(), req.who.user_id, req.who.username, target->id, target->username, unix_now()});
      if (!r) return r.error();
      if (r->empty()) return false;
      if (auto n = count_follow(c, req.who.user_id, target->id, 1); !n) return n.error();
      if (auto o = outbox_->add(c, events::follow_created, event); !o) return o.error();
      return true;
    });
    if (!changed) return changed.error();
    if (*changed) outbox_->wake();
  } else {
    auto changed = db_->transaction([&](store::connection& c) -> result<bool> {
      auto r = c.query("DELETE FROM follows WHERE follower_id = ? AND followee_id = ? RETURNING id",
                       {req.who.user_id, target->id});
      if (!r) return r.error();
      if (r->empty()) return false;
      if (auto n = count_follow(c, req.who.user_id, target->id, -1); !n) return n.error();
      if (auto o = outbox_->add(c, events::follow_deleted, event); !o) return o.error();
      return true;
    });
    if (!changed) return changed.error();
    if (*changed) outbox_->wake();
  }
  return follow_state_of(*target, req.who.user_id);
}

result<person_page> logic::handle(const list_follows_request& req) {
  auto target = user_named(req.username);
  if (!target) return target.error();
  auto limit = clamp_limit(req.limit);
  // Newest first by the relation's id; the cursor is the last id seen.
  auto sql = req.followers ? "SELECT id, follower_id, follower_username, created_at FROM follows "
                             "WHERE followee_id = ? AND id < ? ORDER BY id DESC LIMIT ?"
                           : "SELECT id, followee_id, followee_username, created_at FROM follows "
                             "WHERE follower_id = ? AND id < ? ORDER BY id DESC LIMIT ?";
  auto rows = db_->query(sql, {target->id, before(req.cursor), int64_t{limit} + 1});
  if (!rows) return rows.error();
  person_page page;
  page.next_cursor = take_page(*rows, limit, page.people, to_person);
  return page;
}

result<like_state> logic::handle(const like_request& req) {
  if (!req.who.user_id) return unauthorized();
  auto p = photo(req.photo_id, req.who);
  if (!p) return p.error();
  like_changed event{p->id, p->owner_id, req.who.user_id, req.who.username};
  // The like and its announcement commit together; liking twice keeps one row and one event.
  auto changed = db_->transaction([&](store::connection& c) -> result<bool> {
    auto r = req.like ? c.query(
                            "INSERT INTO likes (id, photo_id, user_id, username, created_at) "
                            "VALUES (?, ?, ?, ?, ?) ON CONFLICT (photo_id, user_id) DO NOTHING "
                            "RETURNING id",
                            {next_id(), p->id, req.who.user_id, req.who.username, unix_now()})
                      : c.query("DELETE FROM likes WHERE photo_id = ? AND user_id = ? RETURNING id",
                                {p->id, req.who.user_id});
    if (!r) return r.error();
    if (r->empty()) return false;
    if (auto o = outbox_->add(c, req.like ? events::like_created : events::like_deleted, event); !o)
      return o.error();
    return true;
  });
  if (!changed) return changed.error();
  if (*changed) outbox_->wake();
  auto n = db_->query(
      "SELECT COUNT(*), COALESCE(SUM(CASE WHEN user_id = ? THEN 1 ELSE 0 END), 0) FROM likes "
      "WHERE photo_id = ?",
      {req.who.user_id, p->id});
  if (!n) return n.error();
  return like_state{p->id, n->front().int_at(0), n->front().int_at(1) > 0};
}

result<person_page> logic::handle(const list_likes_request& req) {
  auto p = photo(req.photo_id, req.who);
  if (!p) return p.error();
  auto limit = clamp_limit(req.limit);
  auto rows = db_->query(
      "SELECT id, user_id, username, created_at FROM likes WHERE photo_id = ? AND id < ? ORDER BY "
      "id DESC LIMIT ?",
      {p->id, before(req.cursor), int64_t{limit} + 1});
  if (!rows) return rows.error();
  person_page page;
  page.next_cursor = take_page(*rows, limit, page.people, to_person);
  return page;
}

result<comment_view> logic::handle(const comment_request& req) {
  if (!req.who.user_id) return unauthorized();
  auto chars = code_points(req.text);
  if (req.text.find_first_not_of(" \t\r\n") == std::string::npos || chars > max_comment_chars)
    return make_error(errc::invalid_argument, "invalid_comment",
                      "a comment has 1 to 2200 characters");
  auto p = photo(req.photo_id, req.who);
  if (!p) return p.error();
  comment_view c{next_id(), p->id, req.who.user_id, req.who.username, req.text, unix_now()};
  comment_created event{c.id, c.photo_id, p->owner_id, c.author_id, c.author_username, c.text};
  auto stored = db_->transaction([&](store::connection& conn) -> result<void> {
    auto r = conn.query(
        "INSERT INTO comments (id, photo_id, photo_owner_id, author_id, author_username, text, "
        "created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
        {c.id, c.photo_id, p->owner_id, c.author_id, c.author_username, c.text, c.created_at});
    if (!r) return r.error();
    return outbox_->add(conn, events::comment_created, event);
  });
  if (!stored) return stored.error();
  outbox_->wake();
  return c;
}

result<comment_page> logic::handle(const list_comments_request& req) {
  auto p = photo(req.photo_id, req.who);
  if (!p) return p.error();
  auto limit = clamp_limit(req.limit);
  // Oldest first: the cursor is the last id seen, ids grow with time.
  auto rows = db_->query(
      "SELECT id, photo_id, author_id, author_username, text, created_at FROM comments "
      "WHERE photo_id = ? AND id > ? ORDER BY id LIMIT ?",
      {p->id, req.cursor, int64_t{limit} + 1});
  if (!rows) return rows.error();
  comment_page page;
  page.next_cursor = take_page(*rows, limit, page.comments, [](const store::row& r) {
    return comment_view{r.int_at(0), r.int_at(1), r.int_at(2),
                        r.str_at(3), r.str_at(4), r.int_at(5)};
  });
  return page;
}

result<done> logic::handle(const delete_comment_request& req) {
  if (!req.who.user_id) return unauthorized();
  auto rows =
      db_->query("SELECT author_id, photo_owner_id FROM comments WHERE id = ? AND photo_id = ?",
                 {req.comment_id, req.photo_id});
  if (!rows) return rows.error();
  if (rows->empty()) return make_error(errc::not_found, "comment_not_found", "no such comment");
  const auto& r = rows->front();
  if (r.int_at(0) != req.who.user_id && r.int_at(1) != req.who.user_id && !req.who.admin) {
    // A photo the caller cannot see has no comments for them (404), as on every other route.
    if (auto p = photo(req.photo_id, req.who); !p) return p.error();
    return make_error(errc::forbidden, "not_allowed",
                      "only the comment's author or the photo's owner can delete it");
  }
  if (auto d = db_->query("DELETE FROM comments WHERE id = ?", {req.comment_id}); !d)
    return d.error();
  return done{};
}

result<notification_page> logic::handle(const notifications_request& req) {
  if (!req.who.user_id) return unauthorized();
  auto limit = clamp_limit(req.limit);
  auto rows = db_->query(
      "SELECT id, kind, actor_id, actor_username, photo_id, comment_id, text, created_at, "
      "read FROM notifications WHERE (user_id = ? OR (user_id = 0 AND ? = 1)) AND id < ? ORDER "
      "BY id DESC LIMIT ?",
      {req.who.user_id, int64_t{req.who.admin ? 1 : 0}, before(req.cursor), int64_t{limit} + 1});
  if (!rows) return rows.error();
  notification_page page;
  page.next_cursor = take_page(*rows, limit, page.items, [](const store::row& r) {
    return notification_view{r.int_at(0), r.str_at(1), r.int_at(2), r.str_at(3),     r.int_at(4),
                             r.int_at(5), r.str_at(6), r.int_at(7), r.int_at(8) != 0};
  });
  auto unread = db_->query(
      "SELECT COUNT(*) FROM notifications WHERE (user_id = ? OR (user_id = 0 AND ? = 1)) AND "
      "read = 0",
      {req.who.user_id, int64_t{req.who.admin ? 1 : 0}});
  if (!unread) return unread.error();
  page.unread = unread->front().int_at(0);
  return page;
}

result<done> logic::handle(const mark_read_request& req) {
  if (!req.who.user_id) return unauthorized();
  // The admins' shared inbox (user 0) is read for all of them once one has read it.
  auto r = db_->query(
      "UPDATE notifications SET read = 1 WHERE (user_id = ? OR (user_id = 0 AND ? = 1)) AND "
      "read = 0",
      {req.who.user_id, int64_t{req.who.admin ? 1 : 0}});
  if (!r) return r.error();
  return done{};
}

result<photo_social_list> logic::handle(const photo_social_request& req) {
  photo_social_list out;
  if (req.photo_ids.empty()) return out;
  if (req.photo_ids.size() > 200)
    return make_error(errc::invalid_argument, "too_many_photos", "at most 200 photos at once");
  // Two queries for the whole page, however many photos it has.
  std::string marks;
  std::vector<store::value> args{req.who.user_id};
  for (auto id : req.photo_ids) {
    marks += marks.empty() ? "?" : ", ?";
    args.push_back(id);
  }
  auto likes = db_->query(
      "SELECT photo_id, COUNT(*), SUM(CASE WHEN user_id = ? THEN 1 ELSE 0 END) FROM likes "
      "WHERE photo_id IN (" +
          marks + ") GROUP BY photo_id",
      args);
  if (!likes) return likes.error();
  args.erase(args.begin());
  auto comments = db_->query(
      "SELECT photo_id, COUNT(*) FROM comments WHERE photo_id IN (" + marks + ") GROUP BY photo_id",
      args);
  if (!comments) return comments.error();
  std::map<int64_t, contracts::photo_social> by_id;
  for (const auto& r : *likes) by_id[r.int_at(0)] = {r.int_at(0), r.int_at(1), 0, r.int_at(2) > 0};
  for (const auto& r : *comments) {
    auto& s = by_id[r.int_at(0)];
    s.photo_id = r.int_at(0);
    s.comments = r.int_at(1);
  }
  for (auto& [id, s] : by_id) out.items.push_back(s);
  return out;
}

result<follow_state> logic::handle(const follow_counts_request& req) {
  user_view target;
  target.id = req.user_id;
  target.username = req.username;
  return follow_state_of(target, req.viewer_id);
}

result<relation_list> logic::handle(const relations_request& req) {
  // Followers are for fan-out and need no counts; followees' counts tell the feed who is a
  // celebrity.
  auto rows = db_->query(
      req.followers ? "SELECT follower_id, 0 FROM follows WHERE followee_id = ?"
                    : "SELECT f.followee_id, COALESCE(c.followers, 0) FROM follows f LEFT JOIN "
                      "follow_counts c ON c.user_id = f.followee_id WHERE f.follower_id = ?",
      {req.user_id});
  if (!rows) return rows.error();
  relation_list out;
  for (auto& r : *rows) {
    out.ids.push_back(r.int_at(0));
    out.follower_counts.push_back(r.int_at(1));
  }
  return out;
}

result<done> logic::handle(const ping_request&) {
  auto r = db_->query("SELECT 1");
  if (!r) return r.error();
  return done{};
}

result<void> logic::apply_event(const bus::event& e) {
  // Redelivery cannot fix a malformed payload: it is logged and acknowledged.
  auto bad = [&] {
    log::error("bad_event", {{"type", e.type}, {"event_id", e.id}});
    return caf::unit;
  };
  int64_t user = 0, actor = 0, photo_id = 0, comment_id = 0;
  std::string kind, actor_name, text;
  if (e.type == events::follow_created.name) {
    auto ev = bus::read<follow_changed>(e);
    if (!ev) return bad();
    kind = "follow";
    user = ev->followee_id;
    actor = ev->follower_id;
    actor_name = ev->follower_username;
  } else if (e.type == events::like_created.name) {
    auto ev = bus::read<like_changed>(e);
    if (!ev) return bad();
    kind = "like";
    user = ev->photo_owner_id;
    actor = ev->user_id;
    actor_name = ev->username;
    photo_id = ev->photo_id;
  } else if (e.type == events::comment_created.name) {
    auto ev = bus::read<comment_created>(e);
    if (!ev) return bad();
    kind = "comment";
    user = ev->photo_owner_id;
    actor = ev->author_id;
    actor_name = ev->author_username;
    photo_id = ev->photo_id;
    comment_id = ev->comment_id;
    text = ev->text;
  } else if (e.type == events::photo_processed.name || e.type == events::photo_held.name) {
    auto ev = bus::read<photo_processed>(e);
    if (!ev) return bad();
    kind = e.type == events::photo_processed.name ? "photo_ready" : "photo_held";
    user = ev->owner_id;
    photo_id = ev->photo_id;
  } else if (e.type == events::photo_failed.name) {
    auto ev = bus::read<photo_failed>(e);
    if (!ev) return bad();
    kind = "photo_failed";
    user = ev->owner_id;
    photo_id = ev->photo_id;
    text = ev->reason;
  } else {
    return caf::unit;
  }
  // Nobody is told about their own likes and comments.
  if (!user || user == actor) return caf::unit;
  auto notify = [&](int64_t to, const std::string& what, const std::string& source) {
    return db_->query(
        "INSERT INTO notifications (id, user_id, kind, actor_id, actor_username, photo_id, "
        "comment_id, text, created_at, read, source_event) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 0, "
        "?) ON CONFLICT (source_event) DO NOTHING",
        {next_id(), to, what, actor, actor_name, photo_id, comment_id, text,
         e.published_at ? e.published_at : unix_now(), source});
  };
  if (kind == "photo_held") {
    // The admins' shared inbox (user 0) learns of every held upload; its owner learns why.
    text = "held for review: the picture may be explicit";
    if (auto r = notify(0, "moderation", "moderation:" + std::to_string(photo_id)); !r)
      return r.error();
  }
  // The source makes the insert idempotent: a redelivered event finds its row. A photo is
  // announced once however often processing reports it (a restart may process it again).
  auto source = photo_id && comment_id == 0 && kind.rfind("photo_", 0) == 0
                    ? kind + ":" + std::to_string(photo_id)
                    : "event:" + std::to_string(e.id);
  auto r = notify(user, kind, source);
  if (!r) return r.error();
  return caf::unit;
}

}  // namespace pixhive::graph
