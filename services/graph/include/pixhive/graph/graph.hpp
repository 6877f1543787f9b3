#pragma once

#include <memory>

#include <caf/actor_system.hpp>

#include "pixhive/bus/bus.hpp"
#include "pixhive/contracts/auth.hpp"
#include "pixhive/contracts/graph.hpp"
#include "pixhive/contracts/media.hpp"
#include "pixhive/core/config.hpp"
#include "pixhive/http/router.hpp"
#include "pixhive/store/sql.hpp"

namespace pixhive::graph {

/// Settings of the graph service; declare() documents each one.
struct graph_config {
  int workers = 2;

  /// Declares the graph options.
  static void declare(options& opts);
  /// Reads them.
  static result<graph_config> from(const options& opts);
};

/// Applies the graph schema migrations (follows, likes, comments, notifications).
result<void> migrate(store::database& db);

/// SQL that recounts every user's followers and following from the follows table (a migration
/// step; bulk loaders that write follows directly run it after).
extern const char* const follow_counts_sql;

/// Spawns the graph workers and subscribes them to the events that make notifications. `auth`
/// resolves usernames, `media` says which photos exist and who may see them.
contracts::graph_actor spawn(caf::actor_system& sys, std::shared_ptr<store::database> db,
                             std::shared_ptr<bus::event_bus> events, contracts::auth_actor auth,
                             contracts::media_actor media, const graph_config& cfg);

/// Adds the graph REST routes (under /api/v1) to `routes`.
void add_routes(http::router& routes, caf::actor_system& sys, contracts::graph_actor service);

}  // namespace pixhive::graph
