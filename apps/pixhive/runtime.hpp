#pragma once

#include <memory>
#include <string>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>

#include "pixhive/bus/bus.hpp"
#include "pixhive/core/config.hpp"
#include "pixhive/store/sql.hpp"

/// What every mode of the binary opens: the database, the access-token key, the actor system
/// and the event bus.
namespace pixhive::app {

/// Prints the error's message for the operator and returns the exit code 2.
int fail(const caf::error& err);

/// The shared access-token key: --jwt-key, or one kept in <data-dir>/jwt.key (made on first use).
result<std::string> resolve_jwt_key(const options& opts);

/// The event bus named by --bus: in-process when empty, Redis Streams for a redis:// URL.
result<std::shared_ptr<bus::event_bus>> open_bus(const std::string& url);

/// The stores and actor system of one process.
struct runtime {
  std::shared_ptr<store::database> db;
  std::string jwt_key;
  std::unique_ptr<caf::actor_system_config> caf_cfg;
  std::unique_ptr<caf::actor_system> sys;
};

/// Opens the data folder, the database (with `connections` pooled) and the actor system shared
/// by every mode.
result<runtime> open_runtime(const options& opts, size_t connections);

}  // namespace pixhive::app
