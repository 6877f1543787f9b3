#include "search_logic.hpp"

#include <algorithm>
#include <limits>
#include <set>

#include "pixhive/bus/payload.hpp"
#include "pixhive/contracts/events.hpp"
#include "pixhive/core/ask.hpp"
#include "pixhive/core/log.hpp"

namespace pixhive::search {

using namespace contracts;

namespace {

/// Names this alike (name_similarity) count as a typo of the query.
constexpr double typo_similarity = 0.5;
/// Typo candidates read from the index before ranking, per kind.
constexpr int64_t max_candidates = 200;
constexpr size_t max_query_bytes = 200;

std::string join(const std::vector<std::string>& words) {
  std::string out;
  for (const auto& w : words) out += (out.empty() ? "" : " ") + w;
  return out;
}

/// `text` for a LIKE pattern: its own % and _ match only themselves.
std::string like_escaped(const std::string& text) {
  std::string out;
  for (char c : text) {
    if (c == '%' || c == '_' || c == '\\') out += '\\';
    out += c;
  }
  return out;
}

std::string normal_tag(const std::string& raw) {
  std::string t = raw;
  if (!t.empty() && t[0] == '#') t.erase(0, 1);
  for (auto& c : t) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return t;
}

caf::error bad_query(const std::string& why) {
  return make_error(errc::invalid_argument, "invalid_query", why);
}

}  // namespace

logic::logic(caf::actor_system& sys, std::shared_ptr<store::database> db, feed::card_sources from)
    : sys_(&sys),
      db_(std::move(db)),
      from_(std::move(from)),
      postgres_(db_->dialect() == store::dialect::postgres) {}

result<void> logic::put_user(int64_t id, const std::string& username,
                             const std::string& display_name, bool disabled, int64_t created_at) {
  return db_->transaction([&](store::connection& c) -> result<void> {
    if (auto r = c.query(
            "INSERT INTO search_users (user_id, username, display_name, disabled, created_at) "
            "VALUES (?, ?, ?, ?, ?) ON CONFLICT (user_id) DO UPDATE SET username = "
            "excluded.username, display_name = excluded.display_name, disabled = "
            "excluded.disabled",
            {id, username, display_name, int64_t{disabled ? 1 : 0}, created_at});
        !r)
      return r.error();
    if (postgres_) return caf::unit;
    if (auto r = c.query("DELETE FROM search_users_fts WHERE rowid = ?", {id}); !r)
      return r.error();
    if (auto r = c.query("INSERT INTO search_users_fts (rowid, name) VALUES (?, ?)",
                         {id, username + " " + display_name});
        !r)
      return r.error();
    return caf::unit;
  });
}

result<void> logic::put_photo(const photo_view& p, const std::vector<std::string>& tags,
                              const std::string& text) {
  // Both engines get the same pre-split words, so they agree on what a word is.
  auto body = join(words_of(p.caption + " " + join(p.hashtags) + " " + join(tags) + " " + text));
  std::set<std::string> tag_set;
  for (const auto& t : p.hashtags) tag_set.insert(normal_tag(t));
  for (const auto& t : tags) tag_set.insert(normal_tag(t));
  tag_set.erase("");
  int64_t is_public = p.visibility == "public" ? 1 : 0;
  return db_->transaction([&](store::connection& c) -> result<void> {
    auto upsert =
        postgres_
            ? "INSERT INTO search_photos (photo_id, owner_id, owner_username, public, body, "
              "created_at, doc) VALUES (?, ?, ?, ?, ?, ?, to_tsvector('simple', ?)) ON CONFLICT "
              "(photo_id) DO UPDATE SET public = excluded.public, body = excluded.body, doc = "
              "excluded.doc"
            : "INSERT INTO search_photos (photo_id, owner_id, owner_username, public, body, "
              "created_at) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (photo_id) DO UPDATE SET public "
              "= excluded.public, body = excluded.body";
    std::vector<store::value> params{p.id,      p.owner_id, p.owner_username,
                                     is_public, body,       p.created_at};
    if (postgres_) params.emplace_back(body);
    if (auto r = c.query(upsert, params); !r) return r.error();
    if (!postgres_) {
      if (auto r = c.query("DELETE FROM search_photos_fts WHERE rowid = ?", {p.id}); !r)
        return r.error();
      if (auto r = c.query("INSERT INTO search_photos_fts (rowid, body, vis) VALUES (?, ?, ?)",
                           {p.id, body, visibility_tokens(is_public != 0, p.owner_id)});
          !r)
        return r.error();
    }
    if (auto r = c.query("DELETE FROM search_photo_tags WHERE photo_id = ?", {p.id}); !r)
      return r.error();
    for (const auto& t : tag_set)
      if (auto r = c.query(
              "INSERT INTO search_photo_tags (tag, photo_id, owner_id, owner_username, public) "
              "VALUES (?, ?, ?, ?, ?)",
              {t, p.id, p.owner_id, p.owner_username, is_public});
          !r)
        return r.error();
    return caf::unit;
  });
}

result<void> logic::drop_photo(int64_t id) {
  return db_->transaction([&](store::connection& c) -> result<void> {
    for (const char* sql : {"DELETE FROM search_photos WHERE photo_id = ?",
                            "DELETE FROM search_photo_tags WHERE photo_id = ?"})
      if (auto r = c.query(sql, {id}); !r) return r.error();
    if (!postgres_)
      if (auto r = c.query("DELETE FROM search_photos_fts WHERE rowid = ?", {id}); !r)
        return r.error();
    return caf::unit;
  });
}

result<search_result> logic::handle(const search_request& req) {
  if (req.q.size() > max_query_bytes)
    return bad_query("q must be at most " + std::to_string(max_query_bytes) + " bytes");
  if (req.type == "users") return users(req);
  if (req.type == "tags") return tags(req);
  if (req.type != "photos")
    return make_error(errc::invalid_argument, "invalid_type", "type must be photos, users or tags");
  auto words = words_of(req.q);
  if (words.empty()) return bad_query("q must contain a word");
  return photos(req, words);
}

result<search_result> logic::photos(const search_request& req,
                                    const std::vector<std::string>& words) {
  auto limit = std::clamp<int32_t>(req.limit, 1, 100);
  int64_t admin = req.who.admin ? 1 : 0;
  auto rows = [&] {
    if (postgres_)
      return db_->query(
          "SELECT photo_id FROM search_photos WHERE doc @@ plainto_tsquery('simple', ?) AND "
          "(public = 1 OR owner_id = ? OR ? = 1) ORDER BY ts_rank(doc, plainto_tsquery('simple', "
          "?)) DESC, photo_id DESC LIMIT ? OFFSET ?",
          {join(words), req.who.user_id, admin, join(words), int64_t{limit + 1}, req.cursor});
    std::string match = "body : (";
    for (size_t i = 0; i < words.size(); ++i) match += (i ? " \"" : "\"") + words[i] + "\"";
    match += ")";
    if (!req.who.admin)
      match += " AND vis : (\"pxpublic\"" +
               (req.who.user_id ? " OR \"pxowner" + std::to_string(req.who.user_id) + "\"" : "") +
               ")";
    return db_->query(
        "SELECT rowid FROM search_photos_fts WHERE search_photos_fts MATCH ? "
        "ORDER BY bm25(search_photos_fts, 1.0, 0.0), rowid DESC LIMIT ? OFFSET ?",
        {match, int64_t{limit + 1}, req.cursor});
  }();
  if (!rows) return rows.error();
  search_result out;
  std::vector<int64_t> ids;
  for (auto& r : *rows) ids.push_back(r.int_at(0));
  if (ids.size() > static_cast<size_t>(limit)) {
    ids.resize(limit);
    out.next_cursor = req.cursor + limit;
  }
  auto cards = feed::load_cards(*sys_, from_, req.who, ids);
  if (!cards) return cards.error();
  out.photos = std::move(*cards);
  return out;
}

result<search_result> logic::users(const search_request& req) {
  auto limit = std::clamp<int32_t>(req.limit, 1, 100);
  auto q = join(words_of(req.q));
  if (q.empty()) return bad_query("q must contain a letter or digit");
  auto prefix = like_escaped(q) + "%";
  const std::string columns = "SELECT user_id, username, display_name FROM search_users ";
  // Candidates from three bounded reads, each ordered so the best come first: names that start
  // with the query (they rank first, shortest first, so the pages up to this one are enough), names
  // that share trigrams with it, and names that start with its first two letters (a typo rarely
  // hits those) and are about as long.
  std::vector<std::pair<std::string, std::vector<store::value>>> reads;
  reads.push_back({columns + "WHERE disabled = 0 AND (username LIKE ? ESCAPE '\\' OR "
                             "lower(display_name) LIKE ? ESCAPE '\\' OR lower(display_name) LIKE ? "
                             "ESCAPE '\\') ORDER BY length(username), user_id DESC LIMIT ?",
                   {prefix, prefix, "% " + prefix, req.cursor + limit + 1}});
  if (postgres_) {
    reads.push_back({columns + "WHERE disabled = 0 AND (username % ? OR lower(display_name) % ?) "
                               "ORDER BY greatest(similarity(username, ?), similarity(lower("
                               "display_name), ?)) DESC, user_id DESC LIMIT ?",
                     {q, q, q, q, max_candidates}});
  } else if (q.size() >= 3) {
    std::string match;
    for (size_t i = 0; i + 3 <= q.size(); ++i)
      match += (match.empty() ? "\"" : " OR \"") + q.substr(i, 3) + "\"";
    reads.push_back(
        {"SELECT u.user_id, u.username, u.display_name FROM search_users_fts f JOIN "
         "search_users u ON u.user_id = f.rowid WHERE search_users_fts MATCH ? AND "
         "u.disabled = 0 ORDER BY f.rank, u.user_id DESC LIMIT ?",
         {match, max_candidates}});
  }
  reads.push_back({columns + "WHERE disabled = 0 AND username LIKE ? ESCAPE '\\' ORDER BY "
                             "abs(length(username) - ?), user_id DESC LIMIT ?",
                   {like_escaped(q.substr(0, std::min<size_t>(2, q.size()))) + "%",
                    static_cast<int64_t>(q.size()), max_candidates}});
  store::rows rows;
  std::set<int64_t> seen;
  for (auto& [sql, params] : reads) {
    auto got = db_->query(sql, params);
    if (!got) return got.error();
    for (auto& r : *got)
      if (seen.insert(r.int_at(0)).second) rows.push_back(std::move(r));
  }

  struct ranked {
    bool prefix;
    double similarity;
    user_hit hit;
  };
  std::vector<ranked> found;
  for (auto& r : rows) {
    user_hit h{r.int_at(0), r.str_at(1), r.str_at(2)};
    bool is_prefix = false;
    double best = 0;
    for (const auto& name : std::vector<std::string>{h.username, h.display_name}) {
      auto words = words_of(name);
      auto whole = join(words);
      if (whole.rfind(q, 0) == 0) is_prefix = true;
      for (const auto& w : words)
        if (w.rfind(q, 0) == 0) is_prefix = true;
      best = std::max(best, name_similarity(q, whole));
      for (const auto& w : words) best = std::max(best, name_similarity(q, w));
    }
    if (is_prefix || best >= typo_similarity) found.push_back({is_prefix, best, std::move(h)});
  }
  // Prefix matches first, each group closest first (an exact name is 1.0); newer users break ties.
  std::sort(found.begin(), found.end(), [](const ranked& a, const ranked& b) {
    if (a.prefix != b.prefix) return a.prefix;
    if (a.similarity != b.similarity) return a.similarity > b.similarity;
    return a.hit.id > b.hit.id;
  });
  search_result out;
  for (size_t i = static_cast<size_t>(req.cursor);
       i < found.size() && out.users.size() < size_t(limit); ++i)
    out.users.push_back(found[i].hit);
  if (static_cast<size_t>(req.cursor) + limit < found.size()) out.next_cursor = req.cursor + limit;
  return out;
}

result<search_result> logic::tags(const search_request& req) {
  auto limit = std::clamp<int32_t>(req.limit, 1, 100);
  auto q = normal_tag(req.q);
  if (q.empty()) return bad_query("q must name the start of a tag");
  // SQLite's LIKE is case-insensitive and cannot use the (tag, photo_id) key; tags are stored
  // lower-case, so a byte range selects the same rows through it.
  std::string range = postgres_ ? "" : " AND tag >= ? AND tag < ?";
  std::vector<store::value> params{like_escaped(q) + "%"};
  if (!postgres_) {
    params.emplace_back(q);
    params.emplace_back(q + "\xff");
  }
  params.insert(params.end(),
                {req.who.user_id, int64_t{req.who.admin ? 1 : 0}, int64_t{limit + 1}, req.cursor});
  auto rows = db_->query(
      "SELECT tag, COUNT(*) FROM search_photo_tags WHERE tag LIKE ? ESCAPE '\\'" + range +
          " AND (public = 1 OR owner_id = ? OR ? = 1) GROUP BY tag ORDER BY "
          "COUNT(*) DESC, tag LIMIT ? OFFSET ?",
      params);
  if (!rows) return rows.error();
  search_result out;
  for (auto& r : *rows) out.tags.push_back({r.str_at(0), r.int_at(1)});
  if (out.tags.size() > static_cast<size_t>(limit)) {
    out.tags.resize(limit);
    out.next_cursor = req.cursor + limit;
  }
  return out;
}

result<tag_result> logic::handle(const tag_request& req) {
  auto limit = std::clamp<int32_t>(req.limit, 1, 100);
  tag_result out;
  out.tag = normal_tag(req.tag);
  if (out.tag.empty() || out.tag.size() > 100) return bad_query("no such tag");
  int64_t admin = req.who.admin ? 1 : 0;
  auto visible = " AND (public = 1 OR owner_id = ? OR ? = 1)";
  auto total =
      db_->query(std::string("SELECT COUNT(*) FROM search_photo_tags WHERE tag = ?") + visible,
                 {out.tag, req.who.user_id, admin});
  if (!total) return total.error();
  out.photos_total = total->front().int_at(0);
  auto rows = db_->query(
      std::string("SELECT photo_id FROM search_photo_tags WHERE tag = ?") + visible +
          " AND photo_id < ? ORDER BY photo_id DESC LIMIT ?",
      {out.tag, req.who.user_id, admin,
       req.cursor ? req.cursor : std::numeric_limits<int64_t>::max(), int64_t{limit + 1}});
  if (!rows) return rows.error();
  std::vector<int64_t> ids;
  for (auto& r : *rows) ids.push_back(r.int_at(0));
  if (ids.size() > static_cast<size_t>(limit)) {
    ids.resize(limit);
    out.photos.next_cursor = ids.back();
  }
  auto cards = feed::load_cards(*sys_, from_, req.who, ids);
  if (!cards) return cards.error();
  out.photos.items = std::move(*cards);
  // Only public photos count here: who uploads privately is nobody else's business.
  auto top = db_->query(
      "SELECT owner_id, owner_username, COUNT(*) FROM search_photo_tags WHERE tag = ? AND public "
      "= 1 GROUP BY owner_id, owner_username ORDER BY COUNT(*) DESC, owner_id LIMIT 5",
      {out.tag});
  if (!top) return top.error();
  for (auto& r : *top) out.top_uploaders.push_back({r.int_at(0), r.str_at(1), r.int_at(2)});
  return out;
}

result<int64_t> logic::catch_up_users() {
  auto newest = db_->query("SELECT COALESCE(MAX(user_id), 0) FROM search_users");
  if (!newest) return newest.error();
  int64_t after = newest->front().int_at(0), n = 0;
  while (true) {
    auto page = ask_blocking<user_page>(*sys_, from_.auth, list_users_request{after, 100});
    if (!page) return page.error();
    for (auto& u : page->users) {
      if (auto r = put_user(u.id, u.username, u.display_name, u.disabled, u.created_at); !r)
        return r.error();
      ++n;
    }
    if (!page->next_after_id) return n;
    after = page->next_after_id;
  }
}

result<reindex_result> logic::handle(const reindex_request&) {
  auto cleared = db_->transaction([&](store::connection& c) -> result<void> {
    std::vector<const char*> tables{"search_users", "search_photos", "search_photo_tags"};
    if (!postgres_) {
      tables.push_back("search_users_fts");
      tables.push_back("search_photos_fts");
    }
    for (auto t : tables)
      if (auto r = c.query(std::string("DELETE FROM ") + t); !r) return r.error();
    return caf::unit;
  });
  if (!cleared) return cleared.error();
  reindex_result out;
  auto users = catch_up_users();
  if (!users) return users.error();
  out.users = *users;
  // Every user's photos, through media's own listing (as an admin sees them).
  auto names = db_->query("SELECT username FROM search_users ORDER BY user_id");
  if (!names) return names.error();
  viewer admin{0, "search", true};
  for (auto& n : *names) {
    int64_t before = 0;
    do {
      auto page = ask_blocking<photo_page>(*sys_, from_.media,
                                           list_photos_request{n.str_at(0), before, 100, admin});
      if (!page) return page.error();
      for (auto& p : page->photos) {
        if (p.status != "ready") continue;
        if (auto r = put_photo(p, p.auto_tags, p.text); !r) return r.error();
        ++out.photos;
      }
      before = page->next_before_id;
    } while (before);
  }
  log::info("search_reindexed", {{"users", out.users}, {"photos", out.photos}});
  return out;
}

result<done> logic::handle(const ping_request&) {
  if (auto r = db_->query("SELECT 1"); !r) return r.error();
  return done{};
}

result<void> logic::apply_event(const bus::event& e) {
  // Redelivery cannot fix a malformed payload: it is logged and acknowledged.
  auto bad = [&] {
    log::warn("search_bad_event", {{"type", e.type}});
    return caf::unit;
  };
  if (e.type == events::user_created.name || e.type == events::user_updated.name) {
    auto ev = bus::read<user_changed>(e);
    if (!ev) return bad();
    return put_user(ev->user_id, ev->username, ev->display_name, ev->disabled, ev->created_at);
  }
  if (e.type == events::photo_deleted.name) {
    auto ev = bus::read<photo_deleted>(e);
    return ev ? drop_photo(ev->photo_id) : bad();
  }
  if (e.type == events::photo_processed.name) {
    auto ev = bus::read<photo_processed>(e);
    if (!ev) return bad();
    auto photo = ask_blocking<photo_view>(
        *sys_, from_.media, get_photo_request{ev->photo_id, viewer{0, "search", true}});
    if (!photo) {
      if (to_problem(photo.error()).kind == errc::not_found) return drop_photo(ev->photo_id);
      return photo.error();
    }
    return put_photo(*photo, ev->tags, ev->text);
  }
  return caf::unit;
}

}  // namespace pixhive::search
