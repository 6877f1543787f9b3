#include <caf/all.hpp>

#include "feed_logic.hpp"
#include "pixhive/core/worker_pool.hpp"

namespace pixhive::feed {

using namespace contracts;

void feed_config::declare(options& opts) {
  opts.add("feed-workers", "2", "feed worker actors, each with its own thread for database I/O",
           check::whole(1, 64))
      .add("feed-celebrity-threshold", "10000",
           "authors with more followers are not fanned out on write; their photos are merged "
           "into home feeds when read",
           check::at_least(0))
      .add("feed-timeline-cap", "800", "photos kept in each home timeline",
           check::whole(1, 100'000))
      .add("timelines", "",
           "where home timelines live: empty for the database (all-in-one), or a redis:// URL as "
           "--bus "
           "(Redis sorted sets, shared by feed replicas)");
}

result<feed_config> feed_config::from(const options& opts) {
  feed_config cfg;
  auto workers = opts.get_int("feed-workers");
  if (!workers) return workers.error();
  cfg.workers = static_cast<int>(*workers);
  auto threshold = opts.get_int("feed-celebrity-threshold");
  if (!threshold) return threshold.error();
  cfg.celebrity_threshold = *threshold;
  auto cap = opts.get_int("feed-timeline-cap");
  if (!cap) return cap.error();
  cfg.timeline_cap = static_cast<size_t>(*cap);
  cfg.timelines = opts.get("timelines");
  if (!cfg.timelines.empty())
    if (auto a = bus::redis_address::parse(cfg.timelines); !a) return a.error();
  return cfg;
}

result<void> migrate(store::database& db) {
  static const std::vector<store::migration> steps{{1, R"sql(
CREATE TABLE feed_posts (
  photo_id BIGINT PRIMARY KEY,
  owner_id BIGINT NOT NULL,
  public INTEGER NOT NULL,
  created_at BIGINT NOT NULL
);
CREATE INDEX feed_posts_owner ON feed_posts (owner_id, public, photo_id);
CREATE INDEX feed_posts_public ON feed_posts (public, photo_id);
CREATE TABLE feed_timelines (
  user_id BIGINT NOT NULL,
  photo_id BIGINT NOT NULL,
  PRIMARY KEY (user_id, photo_id)
);
CREATE TABLE feed_timeline_users (
  user_id BIGINT PRIMARY KEY
);
)sql"}};
  return store::migrate(db, "feed", steps);
}

result<std::shared_ptr<timeline_store>> open_timelines(std::shared_ptr<store::database> db,
                                                       const feed_config& cfg) {
  if (cfg.timelines.empty())
    return std::shared_ptr<timeline_store>(make_sql_timelines(std::move(db), cfg.timeline_cap));
  auto address = bus::redis_address::parse(cfg.timelines);
  if (!address) return address.error();
  auto r = make_redis_timelines(*address, cfg.timeline_cap);
  if (!r) return r.error();
  return std::shared_ptr<timeline_store>(std::move(*r));
}

feed_actor spawn(caf::actor_system& sys, std::shared_ptr<store::database> db,
                 std::shared_ptr<bus::event_bus> events, std::shared_ptr<timeline_store> timelines,
                 card_sources from, const feed_config& cfg) {
  auto impl =
      std::make_shared<logic>(sys, std::move(db), std::move(timelines), std::move(from), cfg);
  events->subscribe("feed",
                    {"photo.processed", "photo.deleted", "follow.created", "follow.deleted"},
                    [impl](const bus::event& e) { return impl->apply_event(e); });
  return spawn_pool<feed_actor, ping_request>(sys, "feed", cfg.workers, impl);
}

}  // namespace pixhive::feed
