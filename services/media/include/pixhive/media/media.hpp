#pragma once

#include <memory>
#include <string>

#include <caf/actor_system.hpp>

#include "pixhive/bus/bus.hpp"
#include "pixhive/contracts/graph.hpp"
#include "pixhive/contracts/media.hpp"
#include "pixhive/core/config.hpp"
#include "pixhive/http/router.hpp"
#include "pixhive/store/blob.hpp"
#include "pixhive/store/s3.hpp"
#include "pixhive/store/sql.hpp"

namespace pixhive::media {

/// Settings of the media service; declare() documents each one.
struct media_config {
  std::string blob_dir;
  int workers = 2;
  size_t max_upload_bytes = 25 * 1024 * 1024;
  int64_t max_pixels = 100'000'000;
  /// "folder" or "s3".
  std::string blob_store = "folder";
  store::s3_config s3;
  size_t cache_bytes = 256 * 1024 * 1024;
  bool cache_policy_lru = true;

  /// Declares the media options.
  static void declare(options& opts);
  /// Reads them.
  static result<media_config> from(const options& opts);
};

/// Opens the blob store the configuration names.
result<std::unique_ptr<store::blob_store>> open_blob_store(const media_config& cfg);

/// Applies the media schema migrations.
result<void> migrate(store::database& db);

/// Spawns the media service: detached workers (database and blob I/O) behind a front actor.
contracts::media_actor spawn(caf::actor_system& sys, std::shared_ptr<store::database> db,
                             std::shared_ptr<store::blob_store> blobs,
                             std::shared_ptr<bus::event_bus> events, const media_config& cfg);

/// Adds the media REST routes (under /api/v1) to `routes`. With a graph service (`social`),
/// photos are answered with their like and comment counts and `liked_by_me`.
void add_routes(http::router& routes, caf::actor_system& sys, contracts::media_actor service,
                const media_config& cfg, contracts::graph_actor social = {});

}  // namespace pixhive::media
