#pragma once

#include <memory>
#include <string>

#include <caf/actor_system.hpp>

#include "pixhive/bus/bus.hpp"
#include "pixhive/contracts/feed.hpp"
#include "pixhive/core/config.hpp"
#include "pixhive/feed/cards.hpp"
#include "pixhive/feed/timelines.hpp"
#include "pixhive/http/router.hpp"
#include "pixhive/store/sql.hpp"

namespace pixhive::feed {

/// Settings of the feed service; declare() documents each one.
struct feed_config {
  int workers = 2;
  /// Authors with more followers than this are not fanned out on write: their photos are merged
  /// into their followers' home feeds when read.
  int64_t celebrity_threshold = 10'000;
  /// Entries kept per home timeline.
  size_t timeline_cap = 800;
  /// Where timelines live: empty for the database, or a redis:// URL (redis_address).
  std::string timelines;

  /// Declares the feed options.
  static void declare(options& opts);
  /// Reads them.
  static result<feed_config> from(const options& opts);
};

/// Applies the feed schema migrations (posts, and the SQL timelines).
result<void> migrate(store::database& db);

/// Opens the timeline store `cfg.timelines` names.
result<std::shared_ptr<timeline_store>> open_timelines(std::shared_ptr<store::database> db,
                                                       const feed_config& cfg);

/// Spawns the feed workers and subscribes them to the events that fill timelines (photo.processed,
/// photo.deleted, follow.created, follow.deleted). `from` assembles the cards; its graph handle
/// also answers who follows whom.
contracts::feed_actor spawn(caf::actor_system& sys, std::shared_ptr<store::database> db,
                            std::shared_ptr<bus::event_bus> events,
                            std::shared_ptr<timeline_store> timelines, card_sources from,
                            const feed_config& cfg);

/// Adds the feed REST routes (under /api/v1) to `routes`.
void add_routes(http::router& routes, caf::actor_system& sys, contracts::feed_actor service);

}  // namespace pixhive::feed
