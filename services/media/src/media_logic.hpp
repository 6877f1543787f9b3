#pragma once

#include "pixhive/bus/outbox.hpp"

#include "pixhive/media/media.hpp"
#include "pixhive/store/blob_cache.hpp"

namespace pixhive::media {

/// The media rules over the database, the blob store and the bus; every call blocks, so it
/// runs inside a detached worker actor.
class logic {
 public:
  logic(std::shared_ptr<store::database> db, std::shared_ptr<store::blob_store> blobs,
        std::shared_ptr<bus::event_bus> events, const media_config& cfg);

  result<contracts::photo_view> handle(contracts::upload_request& req);
  result<contracts::photo_view> handle(const contracts::get_photo_request& req);
  result<contracts::blob_reply> handle(const contracts::get_blob_request& req);
  result<contracts::photo_page> handle(const contracts::list_photos_request& req);
  result<contracts::photo_view> handle(const contracts::photo_by_key_request& req);
  result<contracts::photo_page> handle(const contracts::photos_by_ids_request& req);
  result<contracts::photo_count> handle(const contracts::photo_count_request& req);
  result<contracts::done> handle(const contracts::delete_photo_request& req);
  result<contracts::done> handle(contracts::put_variant_request& req);
  result<contracts::done> handle(const contracts::set_status_request& req);
  result<contracts::done> handle(const contracts::ping_request&);
  /// Applies what processing reported (photo.processed: tags, objects, faces, text, hash,
  /// duplicate check, `ready`; photo.held: the same but `held`; photo.failed: `failed` with the
  /// reason); flagged uploads join the moderation queue. Safe to run twice on one event.
  result<void> apply_event(const bus::event& e);
  /// Removes uploads that a crash interrupted (rows still `uploading`, and their blobs) older
  /// than `older_than_seconds`; returns how many.
  result<int64_t> sweep_unfinished(int64_t older_than_seconds);
  /// Publishes photo.uploaded again for photos still `processing` (after a restart with a bus
  /// that lost its queue); returns how many.
  result<int64_t> republish_processing();
  contracts::cache_stats handle(const contracts::cache_stats_request&);
  result<contracts::cache_stats> handle(const contracts::configure_cache_request& req);
  contracts::cache_stats handle(const contracts::clear_cache_request&);
  result<contracts::media_stats> handle(const contracts::media_stats_request&);
  /// The moderation queue (admins).
  result<contracts::moderation_queue> handle(const contracts::moderation_queue_request& req);
  /// Records an admin's decision: approve releases a held photo (photo.processed goes out),
  /// reject deletes the photo.
  result<contracts::moderation_item> handle(const contracts::moderation_decision_request& req);

  /// Queues a failed photo for processing again: 409 unless it failed.
  result<contracts::photo_view> handle(const contracts::retry_photo_request& req);

 private:
  result<contracts::photo_view> load(int64_t id, const contracts::viewer& who);
  /// Fills in the variants of `photos` with one query, and hides links to photos `who` may not
  /// see.
  result<void> complete(std::vector<contracts::photo_view*> photos, const contracts::viewer& who);
  result<std::string> read_blob(const std::string& key);
  /// Sets pixhive_moderation_queue_length from the table (all replicas' decisions count).
  void refresh_moderation_gauge();

  std::shared_ptr<store::database> db_;
  std::shared_ptr<store::blob_store> blobs_;
  std::shared_ptr<bus::event_bus> events_;
  std::shared_ptr<bus::outbox> outbox_;
  media_config cfg_;
  store::blob_cache cache_;
};

/// Parses `#hashtags` from a caption: ASCII letters and digits, '_' and any non-ASCII
/// character count as tag characters; ASCII is lower-cased; duplicates are dropped.
std::vector<std::string> parse_hashtags(const std::string& caption);

/// True when `key` matches [A-Za-z0-9._-]{1,128}.
bool valid_photo_key(const std::string& key);

}  // namespace pixhive::media
