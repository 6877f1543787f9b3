#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <caf/actor.hpp>
#include <caf/actor_cast.hpp>
#include <caf/actor_system.hpp>

#include "pixhive/auth/auth.hpp"
#include "pixhive/bus/bus.hpp"
#include "pixhive/core/config.hpp"
#include "pixhive/feed/feed.hpp"
#include "pixhive/graph/graph.hpp"
#include "pixhive/http/router.hpp"
#include "pixhive/links/link.hpp"
#include "pixhive/media/media.hpp"
#include "pixhive/processing/processing.hpp"
#include "pixhive/search/search.hpp"
#include "pixhive/store/blob.hpp"
#include "pixhive/store/sql.hpp"

namespace pixhive::app {

/// Every service's configuration, parsed and checked before anything starts.
struct configs {
  auth::auth_config auth;
  media::media_config media;
  processing::processing_config processing;
  graph::graph_config graph;
  feed::feed_config feed;
  search::search_config search;
  /// Parses every service's options; `auth.jwt_key` is left for the caller to fill in once the
  /// key is resolved (it comes from the data folder when no option gives it).
  static result<configs> from(const options& opts);
};

/// The actors of the services others call, by service name: local actors, or links to the
/// replicas in other processes.
class peers {
 public:
  /// The typed handle of `name` (empty when this process neither runs nor links it).
  template <class Handle>
  Handle get(const std::string& name) const {
    auto it = actors_.find(name);
    return it == actors_.end() ? Handle{} : caf::actor_cast<Handle>(it->second);
  }
  /// Records the actor that answers for `name`.
  void set(const std::string& name, caf::actor actor) { actors_[name] = std::move(actor); }

 private:
  std::map<std::string, caf::actor> actors_;
};

/// What every module's start sees: the process's stores, bus, configuration and the handles.
struct context {
  caf::actor_system& sys;
  const options& opts;
  const configs& cfg;
  std::shared_ptr<store::database> db;
  std::shared_ptr<bus::event_bus> events;
  app::peers& peers;
  /// The blob store media and processing share, opened on first use.
  result<std::shared_ptr<store::blob_store>> blobs();

  std::shared_ptr<store::blob_store> blobs_;
};

/// A service started in this process.
struct started {
  /// Its actor (stopped at shutdown).
  caf::actor actor;
  /// Publishes its typed interface on an actor port for other processes.
  std::function<caf::expected<uint16_t>(uint16_t port, const char* address)> publish;
  /// Asks it whether its stores answer.
  std::function<void(std::function<void(bool)>)> ping;
};

/// An operator task of `pixhive admin NAME`.
struct command {
  std::string name;
  /// One line for the usage text.
  std::string help;
  /// Declares the options only this command takes (may be empty).
  std::function<void(options&)> declare;
  /// Runs it to the end; the return value is the process's exit code.
  std::function<int(const options&)> run;
};

/// One row of the service table: everything the binary knows about a service.
struct module {
  std::string name;
  /// Services its actor calls: local when this process runs them, linked otherwise.
  std::vector<std::string> needs;
  /// Services its routes use when they are reachable (counts on profiles and photos): linked
  /// only when their actor option is given.
  std::vector<std::string> wants;
  /// Database connections its workers and bus handler hold at most.
  std::function<size_t(const configs&)> connections;
  /// Creates or updates its tables.
  std::function<result<void>(store::database&)> migrate;
  /// Spawns its actor (with the handles of what it needs in `ctx.peers`).
  std::function<result<started>(context& ctx)> start;
  /// Adds its HTTP routes; every handle it needs or wants is known by then.
  std::function<void(context& ctx, const started& self, http::router& routes)> add_routes;
  /// Its `pixhive admin` commands.
  std::vector<command> commands = {};
};

/// Declares every service's options.
void declare_options(options& opts);

/// Declares --NAME-actor for every service another row needs or wants: where its replicas'
/// actor ports are when this process does not run it.
void declare_link_options(options& opts);

/// The service table: a mode runs a subset of it (all-in-one runs every row).
const std::vector<module>& service_table();

/// The rows `mode` runs ("all" or one service name); empty for an unknown mode.
std::vector<const module*> modules_of(const std::string& mode);

/// The rows in an order where every local dependency starts before its users.
std::vector<const module*> start_order(std::vector<const module*> selected);

}  // namespace pixhive::app
