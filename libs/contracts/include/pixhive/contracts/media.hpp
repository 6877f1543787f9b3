#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <caf/actor_system_config.hpp>
#include <caf/meta/type_name.hpp>
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

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, detected& x) {
  return f(caf::meta::type_name("detected"), x.label, x.confidence, x.x, x.y, x.width, x.height);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, moderation_item& x) {
  return f(caf::meta::type_name("moderation_item"), x.photo_id, x.owner_id, x.owner_username,
           x.verdict, x.drawing, x.hentai, x.neutral, x.porn, x.sexy, x.state, x.created_at,
           x.decided_by, x.decided_by_username, x.decided_at);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, moderation_queue_request& x) {
  return f(caf::meta::type_name("moderation_queue_request"), x.state, x.before_id, x.limit, x.who);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, moderation_queue& x) {
  return f(caf::meta::type_name("moderation_queue"), x.items, x.next_before_id, x.pending);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, moderation_decision_request& x) {
  return f(caf::meta::type_name("moderation_decision_request"), x.photo_id, x.decision, x.who);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, photo_count_request& x) {
  return f(caf::meta::type_name("photo_count_request"), x.owner_username, x.who);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, photo_count& x) {
  return f(caf::meta::type_name("photo_count"), x.photos);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, photos_by_ids_request& x) {
  return f(caf::meta::type_name("photos_by_ids_request"), x.ids, x.who);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, cache_stats_request&) {
  return f(caf::meta::type_name("cache_stats_request"));
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, configure_cache_request& x) {
  return f(caf::meta::type_name("configure_cache_request"), x.capacity_mb, x.policy);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, clear_cache_request&) {
  return f(caf::meta::type_name("clear_cache_request"));
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, cache_stats& x) {
  return f(caf::meta::type_name("cache_stats"), x.items, x.bytes, x.capacity_mb, x.policy, x.hits,
           x.misses, x.evictions);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, media_stats_request&) {
  return f(caf::meta::type_name("media_stats_request"));
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, status_count& x) {
  return f(caf::meta::type_name("status_count"), x.status, x.count);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, media_stats& x) {
  return f(caf::meta::type_name("media_stats"), x.photos, x.bytes, x.by_status, x.uploads_last_hour,
           x.uploads_last_day);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, viewer& x) {
  return f(caf::meta::type_name("viewer"), x.user_id, x.username, x.admin);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, variant_info& x) {
  return f(caf::meta::type_name("variant_info"), x.name, x.content_type, x.size, x.width, x.height);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, photo_view& x) {
  return f(caf::meta::type_name("photo_view"), x.id, x.owner_id, x.owner_username, x.caption,
           x.hashtags, x.key, x.visibility, x.content_type, x.size, x.width, x.height, x.sha256,
           x.status, x.status_reason, x.created_at, x.variants, x.auto_tags, x.objects, x.faces,
           x.text, x.phash, x.duplicate_of);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, upload_request& x) {
  return f(caf::meta::type_name("upload_request"), x.who, x.bytes, x.caption, x.key, x.visibility);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, get_photo_request& x) {
  return f(caf::meta::type_name("get_photo_request"), x.photo_id, x.who);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, get_blob_request& x) {
  return f(caf::meta::type_name("get_blob_request"), x.photo_id, x.variant, x.who);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, blob_reply& x) {
  return f(caf::meta::type_name("blob_reply"), x.bytes, x.content_type, x.sha256, x.is_public);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, list_photos_request& x) {
  return f(caf::meta::type_name("list_photos_request"), x.owner_username, x.before_id, x.limit,
           x.who);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, photo_page& x) {
  return f(caf::meta::type_name("photo_page"), x.photos, x.next_before_id);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, photo_by_key_request& x) {
  return f(caf::meta::type_name("photo_by_key_request"), x.owner_username, x.key, x.who);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, delete_photo_request& x) {
  return f(caf::meta::type_name("delete_photo_request"), x.photo_id, x.who);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, put_variant_request& x) {
  return f(caf::meta::type_name("put_variant_request"), x.photo_id, x.name, x.bytes, x.content_type,
           x.width, x.height);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, retry_photo_request& x) {
  return f(caf::meta::type_name("retry_photo_request"), x.photo_id, x.who);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, set_status_request& x) {
  return f(caf::meta::type_name("set_status_request"), x.photo_id, x.status, x.reason);
}

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

/// Registers the media message types with CAF.
void add_media_types(caf::actor_system_config& cfg);

}  // namespace pixhive::contracts
