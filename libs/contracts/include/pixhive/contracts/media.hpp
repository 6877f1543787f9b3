#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

#include "pixhive/contracts/common.hpp"
#include "pixhive/core/jwt.hpp"

/// The request interface of the media service and its message types.
namespace pixhive::contracts {

/// Who is asking: decides what private photos they may see (0 = anonymous).
struct viewer {
  int64_t user_id = 0;
  std::string username;
  bool admin = false;
  bool operator==(const viewer&) const = default;
};

/// The viewer an access token names (anonymous without one).
inline viewer viewer_from(const std::optional<jwt::claims>& user) {
  if (!user) return {};
  return {user->user_id, user->username, user->role == "admin"};
}

/// One stored rendition of a photo (thumbnail, derived image).
struct variant_info {
  std::string name;
  std::string content_type;
  int64_t size = 0;
  int64_t width = 0;
  int64_t height = 0;
  bool operator==(const variant_info&) const = default;
};

/// Something processing found in a photo: a label, its confidence (0..1) and its box in
/// full-size pixels.
struct detected {
  std::string label;
  double confidence = 0;
  int64_t x = 0;
  int64_t y = 0;
  int64_t width = 0;
  int64_t height = 0;
  bool operator==(const detected&) const = default;
};

/// A photo's record.
struct photo_view {
  int64_t id = 0;
  int64_t owner_id = 0;
  std::string owner_username;
  std::string caption;
  std::vector<std::string> hashtags;
  std::string key;         // user-chosen name, may be empty
  std::string visibility;  // "public" or "private"
  std::string content_type;
  int64_t size = 0;
  int64_t width = 0;
  int64_t height = 0;
  std::string sha256;
  std::string status;  // "processing", "ready", "failed", "held" (moderation)
  /// Why processing failed ("unsupported_media_type: …"), empty otherwise.
  std::string status_reason;
  int64_t created_at = 0;
  std::vector<variant_info> variants;
  /// Tags processing found (colours, object labels, "face", "people", "text").
  std::vector<std::string> auto_tags;
  /// Objects found (COCO labels), most confident first.
  std::vector<detected> objects;
  /// Faces found.
  std::vector<detected> faces;
  /// Text found in the image.
  std::string text;
  /// Perceptual hash, 16 hex digits.
  std::string phash;
  /// The owner's earlier photo this one repeats (0 = none).
  int64_t duplicate_of = 0;
  bool operator==(const photo_view&) const = default;
};

/// True when everyone may see `p`: public, and processed with its moderation verdict in. Any
/// other photo (private, processing, failed, held) exists for its owner and the admins only.
inline bool is_public_ready(const photo_view& p) {
  return p.visibility == "public" && p.status == "ready";
}

/// Stores a new photo owned by `who`.
struct upload_request {
  viewer who;
  std::string bytes;
  std::string caption;
  std::string key;
  std::string visibility = "public";
  bool operator==(const upload_request&) const = default;
};

/// Reads a photo's record.
struct get_photo_request {
  int64_t photo_id = 0;
  viewer who;
  bool operator==(const get_photo_request&) const = default;
};

/// Reads a photo's bytes: the original when `variant` is empty.
struct get_blob_request {
  int64_t photo_id = 0;
  std::string variant;
  viewer who;
  bool operator==(const get_blob_request&) const = default;
};

/// A photo's bytes and what an HTTP cache needs to know about them.
struct blob_reply {
  std::string bytes;
  std::string content_type;
  std::string sha256;
  bool is_public = true;
  bool operator==(const blob_reply&) const = default;
};

/// Lists a user's photos newest first, older than `before_id` (0 = from the newest).
struct list_photos_request {
  std::string owner_username;
  int64_t before_id = 0;
  int32_t limit = 20;
  viewer who;
  bool operator==(const list_photos_request&) const = default;
};

/// One page of photos; `next_before_id` is 0 on the last page.
struct photo_page {
  std::vector<photo_view> photos;
  int64_t next_before_id = 0;
  bool operator==(const photo_page&) const = default;
};

/// Reads several photos at once, in the order of `ids`, leaving out those missing or not
/// visible to `who` (feed and search pages: one request per page).
struct photos_by_ids_request {
  std::vector<int64_t> ids;
  viewer who;
  bool operator==(const photos_by_ids_request&) const = default;
};

/// Counts a user's photos that `who` may see (profiles).
struct photo_count_request {
  std::string owner_username;
  viewer who;
  bool operator==(const photo_count_request&) const = default;
};

/// How many photos.
struct photo_count {
  int64_t photos = 0;
  bool operator==(const photo_count&) const = default;
};

/// Finds a user's photo by its user-chosen key.
struct photo_by_key_request {
  std::string owner_username;
  std::string key;
  viewer who;
  bool operator==(const photo_by_key_request&) const = default;
};

/// Deletes a photo and all its blobs (owner or admin).
struct delete_photo_request {
  int64_t photo_id = 0;
  viewer who;
  bool operator==(const delete_photo_request&) const = default;
};

/// Stores a rendition made by another service (processing).
struct put_variant_request {
  int64_t photo_id = 0;
  std::string name;
  std::string bytes;
  std::string content_type;
  int64_t width = 0;
  int64_t height = 0;
  bool operator==(const put_variant_request&) const = default;
};

/// Sends a failed photo through the upload pipeline again (its owner or an admin).
struct retry_photo_request {
  int64_t photo_id = 0;
  viewer who;
  bool operator==(const retry_photo_request&) const = default;
};

/// Moves a photo to "ready" or "failed" (with the reason).
struct set_status_request {
  int64_t photo_id = 0;
  std::string status;
  std::string reason;
  bool operator==(const set_status_request&) const = default;
};

/// Reads the hot-blob cache's figures.
struct cache_stats_request {
  bool operator==(const cache_stats_request&) const = default;
};

/// Changes the hot-blob cache's capacity and policy ("lru" or "random") at run time.
struct configure_cache_request {
  int64_t capacity_mb = 0;
  std::string policy;
  bool operator==(const configure_cache_request&) const = default;
};

/// Empties the hot-blob cache.
struct clear_cache_request {
  bool operator==(const clear_cache_request&) const = default;
};

/// The hot-blob cache's figures.
struct cache_stats {
  int64_t items = 0;
  int64_t bytes = 0;
  int64_t capacity_mb = 0;
  std::string policy;
  int64_t hits = 0;
  int64_t misses = 0;
  int64_t evictions = 0;
  bool operator==(const cache_stats&) const = default;
};

/// Reads storage statistics.
struct media_stats_request {
  bool operator==(const media_stats_request&) const = default;
};

/// How many photos have one status.
struct status_count {
  std::string status;
  int64_t count = 0;
  bool operator==(const status_count&) const = default;
};

/// Storage statistics for admins.
struct media_stats {
  int64_t photos = 0;
  int64_t bytes = 0;
  std::vector<status_count> by_status;
  int64_t uploads_last_hour = 0;
  int64_t uploads_last_day = 0;
  bool operator==(const media_stats&) const = default;
};

/// One upload the explicit-content classifier flagged, with its scores and what an admin decided.
struct moderation_item {
  int64_t photo_id = 0;
  int64_t owner_id = 0;
  std::string owner_username;
  /// "held" (hidden until approved) or "review" (visible meanwhile).
  std::string verdict;
  double drawing = 0;
  double hentai = 0;
  double neutral = 0;
  double porn = 0;
  double sexy = 0;
  /// "pending", "approved" or "rejected".
  std::string state;
  int64_t created_at = 0;
  int64_t decided_by = 0;
  std::string decided_by_username;
  int64_t decided_at = 0;
  bool operator==(const moderation_item&) const = default;
};

/// Lists flagged uploads in one state, newest first, older than `before_id` (admins).
struct moderation_queue_request {
  std::string state = "pending";
  int64_t before_id = 0;
  int32_t limit = 20;
  viewer who;
  bool operator==(const moderation_queue_request&) const = default;
};

/// One page of the moderation queue and how many items are pending in all.
struct moderation_queue {
  std::vector<moderation_item> items;
  int64_t next_before_id = 0;
  int64_t pending = 0;
  bool operator==(const moderation_queue&) const = default;
};

/// An admin's decision on a flagged upload: "approve" releases it, "reject" deletes it.
struct moderation_decision_request {
  int64_t photo_id = 0;
  std::string decision;
  viewer who;
  bool operator==(const moderation_decision_request&) const = default;
};

PIXHIVE_MESSAGE(detected, label, confidence, x, y, width, height);
PIXHIVE_MESSAGE(moderation_item, photo_id, owner_id, owner_username, verdict, drawing, hentai,
                neutral, porn, sexy, state, created_at, decided_by, decided_by_username,
                decided_at);
PIXHIVE_MESSAGE(moderation_queue_request, state, before_id, limit, who);
PIXHIVE_IDEMPOTENT(moderation_queue_request);
PIXHIVE_MESSAGE(moderation_queue, items, next_before_id, pending);
PIXHIVE_MESSAGE(moderation_decision_request, photo_id, decision, who);
PIXHIVE_MESSAGE(photo_count_request, owner_username, who);
PIXHIVE_IDEMPOTENT(photo_count_request);
PIXHIVE_MESSAGE(photo_count, photos);
PIXHIVE_MESSAGE(photos_by_ids_request, ids, who);
PIXHIVE_IDEMPOTENT(photos_by_ids_request);
PIXHIVE_MESSAGE(cache_stats_request);
PIXHIVE_IDEMPOTENT(cache_stats_request);
PIXHIVE_MESSAGE(configure_cache_request, capacity_mb, policy);
PIXHIVE_MESSAGE(clear_cache_request);
PIXHIVE_MESSAGE(cache_stats, items, bytes, capacity_mb, policy, hits, misses, evictions);
PIXHIVE_MESSAGE(media_stats_request);
PIXHIVE_IDEMPOTENT(media_stats_request);
PIXHIVE_MESSAGE(status_count, status, count);
PIXHIVE_MESSAGE(media_stats, photos, bytes, by_status, uploads_last_hour, uploads_last_day);
PIXHIVE_MESSAGE(viewer, user_id, username, admin);
PIXHIVE_MESSAGE(variant_info, name, content_type, size, width, height);
PIXHIVE_MESSAGE(photo_view, id, owner_id, owner_username, caption, hashtags, key, visibility,
                content_type, size, width, height, sha256, status, status_reason, created_at,
                variants, auto_tags, objects, faces, text, phash, duplicate_of);
PIXHIVE_MESSAGE(upload_request, who, bytes, caption, key, visibility);
PIXHIVE_MESSAGE(get_photo_request, photo_id, who);
PIXHIVE_IDEMPOTENT(get_photo_request);
PIXHIVE_MESSAGE(get_blob_request, photo_id, variant, who);
PIXHIVE_IDEMPOTENT(get_blob_request);
PIXHIVE_MESSAGE(blob_reply, bytes, content_type, sha256, is_public);
PIXHIVE_MESSAGE(list_photos_request, owner_username, before_id, limit, who);
PIXHIVE_IDEMPOTENT(list_photos_request);
PIXHIVE_MESSAGE(photo_page, photos, next_before_id);
PIXHIVE_MESSAGE(photo_by_key_request, owner_username, key, who);
PIXHIVE_IDEMPOTENT(photo_by_key_request);
PIXHIVE_MESSAGE(delete_photo_request, photo_id, who);
PIXHIVE_MESSAGE(put_variant_request, photo_id, name, bytes, content_type, width, height);
PIXHIVE_IDEMPOTENT(put_variant_request);
PIXHIVE_MESSAGE(retry_photo_request, photo_id, who);
PIXHIVE_MESSAGE(set_status_request, photo_id, status, reason);
PIXHIVE_IDEMPOTENT(set_status_request);

/// The media service as a typed actor. Failures are pixhive::make_error values.
using media_actor =
    caf::typed_actor<caf::replies_to<upload_request>::with<photo_view>,
                     caf::replies_to<get_photo_request>::with<photo_view>,
                     caf::replies_to<get_blob_request>::with<blob_reply>,
                     caf::replies_to<list_photos_request>::with<photo_page>,
                     caf::replies_to<photo_by_key_request>::with<photo_view>,
                     caf::replies_to<photos_by_ids_request>::with<photo_page>,
                     caf::replies_to<photo_count_request>::with<photo_count>,
                     caf::replies_to<delete_photo_request>::with<done>,
                     caf::replies_to<put_variant_request>::with<done>,
                     caf::replies_to<set_status_request>::with<done>,
                     caf::replies_to<retry_photo_request>::with<photo_view>,
                     caf::replies_to<cache_stats_request>::with<cache_stats>,
                     caf::replies_to<configure_cache_request>::with<cache_stats>,
                     caf::replies_to<clear_cache_request>::with<cache_stats>,
                     caf::replies_to<media_stats_request>::with<media_stats>,
                     caf::replies_to<moderation_queue_request>::with<moderation_queue>,
                     caf::replies_to<moderation_decision_request>::with<moderation_item>,
                     caf::replies_to<ping_request>::with<done>>;

}  // namespace pixhive::contracts
