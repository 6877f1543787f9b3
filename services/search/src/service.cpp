#include <caf/all.hpp>

#include "pixhive/core/log.hpp"
#include "pixhive/core/worker_pool.hpp"
#include "search_logic.hpp"

namespace pixhive::search {

using namespace contracts;

void search_config::declare(options& opts) {
  opts.add("search-workers", "2", "search worker actors, each with its own thread for database I/O",
           check::whole(1, 64));
}

result<search_config> search_config::from(const options& opts) {
  search_config cfg;
  auto workers = opts.get_int("search-workers");
  if (!workers) return workers.error();
  cfg.workers = static_cast<int>(*workers);
  return cfg;
}

result<void> migrate(store::database& db) {
  static const std::string common = R"sql(
CREATE TABLE search_users (
  user_id BIGINT PRIMARY KEY,
  username TEXT NOT NULL,
  display_name TEXT NOT NULL,
  disabled INTEGER NOT NULL,
  created_at BIGINT NOT NULL
);
CREATE TABLE search_photo_tags (
  tag TEXT NOT NULL,
  photo_id BIGINT NOT NULL,
  owner_id BIGINT NOT NULL,
  owner_username TEXT NOT NULL,
  public INTEGER NOT NULL,
  PRIMARY KEY (tag, photo_id)
);
CREATE INDEX search_photo_tags_photo ON search_photo_tags (photo_id);
CREATE TABLE search_photos (
  photo_id BIGINT PRIMARY KEY,
  owner_id BIGINT NOT NULL,
  owner_username TEXT NOT NULL,
  public INTEGER NOT NULL,
  body TEXT NOT NULL,
  created_at BIGINT NOT NULL
);
CREATE INDEX search_users_username ON search_users (username);
)sql";
  static const std::vector<store::migration> sqlite_steps{{1, common + R"sql(
-- `vis` holds who may see the photo as tokens (see visibility_tokens), so the index itself
-- filters; it is weighted 0 when ranking.
CREATE VIRTUAL TABLE search_photos_fts USING fts5(body, vis, tokenize = 'unicode61');
CREATE VIRTUAL TABLE search_users_fts USING fts5(name, tokenize = 'trigram');
)sql"}};
  static const std::vector<store::migration> postgres_steps{{1, common + R"sql(
CREATE EXTENSION IF NOT EXISTS pg_trgm;
ALTER TABLE search_photos ADD COLUMN doc TSVECTOR NOT NULL;
CREATE INDEX search_photos_doc ON search_photos USING GIN (doc);
CREATE INDEX search_users_username_trgm ON search_users USING GIN (username gin_trgm_ops);
CREATE INDEX search_users_display_trgm ON search_users USING GIN (lower(display_name) gin_trgm_ops);
)sql"}};
  return store::migrate(db, "search",
                        db.dialect() == store::dialect::postgres ? postgres_steps : sqlite_steps);
}

search_actor spawn(caf::actor_system& sys, std::shared_ptr<store::database> db,
                   std::shared_ptr<bus::event_bus> events, feed::card_sources from,
                   const search_config& cfg) {
  auto impl = std::make_shared<logic>(sys, std::move(db), std::move(from));
  if (!events->durable()) {
    if (auto n = impl->catch_up_users(); !n)
      log::warn("search_user_catch_up_failed", {{"error", to_problem(n.error()).message}});
    else if (*n)
      log::info("search_users_caught_up", {{"users", *n}});
  }
  events->subscribe("search", {"user.created", "user.updated", "photo.processed", "photo.deleted"},
                    [impl](const bus::event& e) { return impl->apply_event(e); });
  return spawn_pool<search_actor, ping_request>(sys, "search", cfg.workers, impl);
}

}  // namespace pixhive::search
