#include <caf/all.hpp>

#include "media_logic.hpp"
#include "pixhive/core/log.hpp"
#include "pixhive/core/worker_pool.hpp"
#include "pixhive/media/media.hpp"

namespace pixhive::media {

using namespace contracts;

void media_config::declare(options& opts) {
  opts.add("blob-store", "folder", "where photo blobs live: folder or s3",
           check::one_of({"folder", "s3"}))
      .add("blob-dir", "",
           "folder for photo blobs with --blob-store folder (default: <data-dir>/blobs)")
      .add("s3-bucket", "",
           "bucket for --blob-store s3 (credentials: AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY)")
      .add("s3-region", "us-east-1", "S3 region (signs requests)")
      .add("s3-endpoint", "", "URL of an S3-compatible service; empty means AWS")
      .add_flag("s3-path-style",
                "address buckets as <endpoint>/<bucket>/ rather than <bucket>.<host>/")
      .add("media-workers", "2",
           "media worker actors, each with its own thread for database and blob I/O",
           check::whole(1, 64))
      .add("max-upload-mb", "25", "largest accepted upload in MiB; larger bodies get 413 unread",
           check::whole(1, 4096))
      .add("max-megapixels", "100",
           "largest accepted image in megapixels, read from the header before decoding",
           check::at_least(1))
      .add("cache-mb", "256", "capacity of the in-memory hot-blob cache in MiB (0 turns it off)",
           check::at_least(0))
      .add("cache-policy", "lru", "which blob the cache evicts when full: lru or random",
           check::one_of({"lru", "random"}));
}

result<media_config> media_config::from(const options& opts) {
  media_config cfg;
  cfg.blob_store = opts.get("blob-store");
  cfg.s3.bucket = opts.get("s3-bucket");
  cfg.s3.region = opts.get("s3-region");
  cfg.s3.endpoint = opts.get("s3-endpoint");
  auto path_style = opts.get_bool("s3-path-style");
  if (!path_style) return path_style.error();
  cfg.s3.path_style = *path_style;
  cfg.s3.credentials = store::aws_credentials::from_environment();
  cfg.s3.identity = store::web_identity::from_environment();
  cfg.blob_dir =
      opts.get("blob-dir").empty() ? opts.get("data-dir") + "/blobs" : opts.get("blob-dir");
  auto workers = opts.get_int("media-workers");
  if (!workers) return workers.error();
  cfg.workers = static_cast<int>(*workers);
  auto upload = opts.get_int("max-upload-mb");
  if (!upload) return upload.error();
  cfg.max_upload_bytes = static_cast<size_t>(*upload) * 1024 * 1024;
  auto mp = opts.get_int("max-megapixels");
  if (!mp) return mp.error();
  cfg.max_pixels = *mp * 1'000'000;
  auto cache = opts.get_int("cache-mb");
  if (!cache) return cache.error();
  cfg.cache_bytes = static_cast<size_t>(*cache) * 1024 * 1024;
  cfg.cache_policy_lru = opts.get("cache-policy") == "lru";
  return cfg;
}

result<std::unique_ptr<store::blob_store>> open_blob_store(const media_config& cfg) {
  if (cfg.blob_store == "s3") return store::open_s3_store(cfg.s3);
  return store::open_folder_store(cfg.blob_dir);
}

result<void> migrate(store::database& db) {
  static const std::vector<store::migration> steps{{1, R"sql(
CREATE TABLE photos (
  id BIGINT PRIMARY KEY,
  owner_id BIGINT NOT NULL,
  owner_username TEXT NOT NULL,
  caption TEXT NOT NULL,
  hashtags TEXT NOT NULL,
  photo_key TEXT,
  visibility TEXT NOT NULL,
  content_type TEXT NOT NULL,
  size BIGINT NOT NULL,
  width BIGINT NOT NULL,
  height BIGINT NOT NULL,
  sha256 TEXT NOT NULL,
  status TEXT NOT NULL,
  status_reason TEXT NOT NULL DEFAULT '',
  created_at BIGINT NOT NULL,
  blob_key TEXT NOT NULL,
  UNIQUE (owner_id, photo_key)
);
CREATE INDEX photos_owner ON photos (owner_username, id);
CREATE TABLE photo_variants (
  photo_id BIGINT NOT NULL REFERENCES photos(id) ON DELETE CASCADE,
  name TEXT NOT NULL,
  content_type TEXT NOT NULL,
  size BIGINT NOT NULL,
  width BIGINT NOT NULL,
  height BIGINT NOT NULL,
  blob_key TEXT NOT NULL,
  PRIMARY KEY (photo_id, name)
);
)sql"},
                                                   // Variant ETags are hashed once, when written.
                                                   {2, R"sql(
ALTER TABLE photo_variants ADD COLUMN sha256 TEXT NOT NULL DEFAULT '';
)sql"},
                                                   // What processing found (issue 4).
                                                   {3, R"sql(
ALTER TABLE photos ADD COLUMN auto_tags TEXT NOT NULL DEFAULT '';
ALTER TABLE photos ADD COLUMN ocr_text TEXT NOT NULL DEFAULT '';
ALTER TABLE photos ADD COLUMN phash TEXT NOT NULL DEFAULT '';
ALTER TABLE photos ADD COLUMN duplicate_of BIGINT NOT NULL DEFAULT 0;
)sql"},
                                                   // Objects, faces and moderation (issue 14).
                                                   {4, R"sql(
ALTER TABLE photos ADD COLUMN detections TEXT NOT NULL DEFAULT '';
CREATE TABLE moderation (
  photo_id BIGINT PRIMARY KEY,
  owner_id BIGINT NOT NULL,
  owner_username TEXT NOT NULL,
  verdict TEXT NOT NULL,
  scores TEXT NOT NULL,
  state TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  decided_by BIGINT NOT NULL DEFAULT 0,
  decided_by_username TEXT NOT NULL DEFAULT '',
  decided_at BIGINT NOT NULL DEFAULT 0,
  event TEXT NOT NULL
);
CREATE INDEX moderation_state ON moderation (state, photo_id);
)sql"}};
  if (auto m = store::migrate(db, "media", steps); !m) return m;
  return bus::outbox::migrate(db, "media");
}

media_actor spawn(caf::actor_system& sys, std::shared_ptr<store::database> db,
                  std::shared_ptr<store::blob_store> blobs, std::shared_ptr<bus::event_bus> events,
                  const media_config& cfg) {
  auto impl = std::make_shared<logic>(std::move(db), std::move(blobs), events, cfg);
  // Uploads interrupted by a crash of this (or another) replica; a minute's grace keeps rows
  // that a live replica is still writing.
  if (auto swept = impl->sweep_unfinished(60); !swept)
    log::error("upload_sweep_failed", {{"error", to_problem(swept.error()).message}});
  events->subscribe("media", {"photo.processed", "photo.held", "photo.failed"},
                    [impl](const bus::event& e) { return impl->apply_event(e); });
  if (!events->durable())
    if (auto r = impl->republish_processing(); !r)
      log::error("republish_failed", {{"error", to_problem(r.error()).message}});
  return spawn_pool<media_actor, ping_request>(sys, "media", cfg.workers, impl);
}

}  // namespace pixhive::media
