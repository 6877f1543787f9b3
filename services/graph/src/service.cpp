#include <caf/all.hpp>

#include "graph_logic.hpp"
#include "pixhive/core/log.hpp"
#include "pixhive/core/worker_pool.hpp"

namespace pixhive::graph {

using namespace contracts;

void graph_config::declare(options& opts) {
  opts.add("graph-workers", "2", "graph worker actors, each with its own thread for database I/O",
           check::whole(1, 64));
}

result<graph_config> graph_config::from(const options& opts) {
  graph_config cfg;
  auto workers = opts.get_int("graph-workers");
  if (!workers) return workers.error();
  cfg.workers = static_cast<int>(*workers);
  return cfg;
}

/// Creates follow_counts and fills it from follows (also used by bench/social_seed).
const char* const follow_counts_sql = R"sql(
CREATE TABLE IF NOT EXISTS follow_counts (
  user_id BIGINT PRIMARY KEY,
  followers BIGINT NOT NULL,
  following BIGINT NOT NULL
);
DELETE FROM follow_counts;
INSERT INTO follow_counts (user_id, followers, following)
  SELECT u, SUM(fr), SUM(fg) FROM (
    SELECT followee_id AS u, 1 AS fr, 0 AS fg FROM follows
    UNION ALL SELECT follower_id AS u, 0 AS fr, 1 AS fg FROM follows) t
  GROUP BY u;
)sql";

result<void> migrate(store::database& db) {
  static const std::vector<store::migration> steps{{1, R"sql(
CREATE TABLE follows (
  id BIGINT PRIMARY KEY,
  follower_id BIGINT NOT NULL,
  follower_username TEXT NOT NULL,
  followee_id BIGINT NOT NULL,
  followee_username TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  UNIQUE (follower_id, followee_id)
);
CREATE INDEX follows_followee ON follows (followee_id, id);
CREATE INDEX follows_follower ON follows (follower_id, id);
CREATE TABLE likes (
  id BIGINT PRIMARY KEY,
  photo_id BIGINT NOT NULL,
  user_id BIGINT NOT NULL,
  username TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  UNIQUE (photo_id, user_id)
);
CREATE TABLE comments (
  id BIGINT PRIMARY KEY,
  photo_id BIGINT NOT NULL,
  photo_owner_id BIGINT NOT NULL,
  author_id BIGINT NOT NULL,
  author_username TEXT NOT NULL,
  text TEXT NOT NULL,
  created_at BIGINT NOT NULL
);
CREATE INDEX comments_photo ON comments (photo_id, id);
CREATE TABLE notifications (
  id BIGINT PRIMARY KEY,
  user_id BIGINT NOT NULL,
  kind TEXT NOT NULL,
  actor_id BIGINT NOT NULL,
  actor_username TEXT NOT NULL,
  photo_id BIGINT NOT NULL,
  comment_id BIGINT NOT NULL,
  text TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  read INTEGER NOT NULL,
  source_event TEXT NOT NULL UNIQUE
);
CREATE INDEX notifications_user ON notifications (user_id, id);
)sql"},
                                                   // Counts kept with each follow change: the feed
                                                   // asks for every followee's on each home read.
                                                   {2, follow_counts_sql}};
  if (auto m = store::migrate(db, "graph", steps); !m) return m;
  return bus::outbox::migrate(db, "graph");
}

graph_actor spawn(caf::actor_system& sys, std::shared_ptr<store::database> db,
                  std::shared_ptr<bus::event_bus> events, auth_actor auth, media_actor media,
                  const graph_config& cfg) {
  auto impl =
      std::make_shared<logic>(sys, std::move(db), events, std::move(auth), std::move(media));
  events->subscribe("graph",
                    {"follow.created", "like.created", "comment.created", "photo.processed",
                     "photo.failed", "photo.held"},
                    [impl](const bus::event& e) { return impl->apply_event(e); });
  return spawn_pool<graph_actor, ping_request>(sys, "graph", cfg.workers, impl);
}

}  // namespace pixhive::graph
