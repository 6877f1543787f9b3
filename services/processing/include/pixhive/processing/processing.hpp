#pragma once

#include <chrono>

#include <memory>
#include <string>

#include <caf/actor_system.hpp>

#include "pixhive/bus/bus.hpp"
#include "pixhive/contracts/media.hpp"
#include "pixhive/contracts/processing.hpp"
#include "pixhive/core/config.hpp"
#include "pixhive/http/router.hpp"
#include "pixhive/imaging/pipeline.hpp"
#include "pixhive/store/blob.hpp"
#include "pixhive/store/sql.hpp"

namespace pixhive::processing {

/// Settings of the processing service; declare() documents each one.
struct processing_config {
  /// Worker actors (each on its own thread); also the bus consumers of photo.uploaded.
  int workers = 2;
  /// Of those, how many may run jobs on stored photos at once (the bus consumers of
  /// job.requested): the others stay free for the upload pipeline, which user jobs can then
  /// never starve. Default: half the workers, at least one.
  int job_workers = 1;
  /// Per user: job operations queued or running at once, and submitted per minute; beyond
  /// either, 429 with Retry-After (admins are exempt).
  int64_t jobs_in_flight_per_user = 64;
  int64_t jobs_per_minute_per_user = 120;
  /// Ad-hoc requests waiting or running at once before POST /process answers 503.
  int queue_limit = 16;
  size_t cache_bytes = 64 * 1024 * 1024;
  size_t max_upload_bytes = 25 * 1024 * 1024;
  /// Pixels an ad-hoc input may have.
  int64_t max_pixels = 100'000'000;
  /// Time budget of one operation, job or upload pipeline run; past it the work stops with
  /// `timeout` (a permanent failure: retrying would time out again).
  std::chrono::milliseconds operation_timeout{30'000};
  /// Bytes of decoded pixels all workers may hold at once; bigger decodes wait their turn.
  size_t decode_memory = 768ull * 1024 * 1024;
  imaging::pipeline_config pipeline;
  /// Folder of the networks (scripts/fetch-models); checked at start-up.
  std::string models;
  /// porn + hentai at or above this holds an upload for review (hidden from everyone but its
  /// owner and admins).
  double block_threshold = 0.7;
  /// sexy at or above this queues an upload for review; it stays visible. Never blocks alone.
  double review_threshold = 0.8;
  /// This replica's name in job events ("which worker").
  std::string node = "pixhive";

  /// Declares the processing options.
  static void declare(options& opts);
  /// Reads them.
  static result<processing_config> from(const options& opts);
};

/// Applies the processing schema migrations (jobs, job events).
result<void> migrate(store::database& db);

/// Spawns the processing workers and subscribes them to photo.uploaded and job.requested.
/// `blobs` holds ad-hoc job inputs and results; `media` stores variants and serves originals.
contracts::processing_actor spawn(caf::actor_system& sys, std::shared_ptr<store::database> db,
                                  std::shared_ptr<store::blob_store> blobs,
                                  std::shared_ptr<bus::event_bus> events,
                                  contracts::media_actor media, const processing_config& cfg);

/// Adds the processing REST routes (under /api/v1) to `routes`; the bus carries live job
/// events to SSE streams.
void add_routes(http::router& routes, caf::actor_system& sys, contracts::processing_actor service,
                std::shared_ptr<bus::event_bus> events, const processing_config& cfg);

}  // namespace pixhive::processing
