#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "pixhive/contracts/message.hpp"

/// The events of the bus (facts that happened), each payload declared once with
/// PIXHIVE_MESSAGE: producers hand the struct to `outbox::add` or `event_bus::publish`, consumers
/// read it back with `bus::read<T>`. On the bus a payload is the struct's JSON (one key per
/// field, ids as decimal strings), so a field added here reaches every consumer, and a consumer
/// reading an older payload keeps the field's default.
namespace pixhive::contracts {

/// A kind of bus event: its type name on the bus and the struct its payload is. Events that
/// carry the same facts (created/deleted, processed/held) share a payload struct.
template <declared_message T>
struct event_type {
  using payload = T;
  const char* name;
};

/// user.created, user.updated (auth): a user as search indexes it. An expired unverified
/// account is announced as updated and disabled.
struct user_changed {
  int64_t user_id = 0;
  std::string username;
  std::string display_name;
  bool disabled = false;
  int64_t created_at = 0;
  bool operator==(const user_changed&) const = default;
};

/// photo.uploaded (media): an original is stored and waits for processing.
struct photo_uploaded {
  int64_t photo_id = 0;
  int64_t owner_id = 0;
  std::string content_type;
  int64_t width = 0;
  int64_t height = 0;
  std::string blob_key;
  bool operator==(const photo_uploaded&) const = default;
};

/// photo.deleted (media).
struct photo_deleted {
  int64_t photo_id = 0;
  int64_t owner_id = 0;
  bool operator==(const photo_deleted&) const = default;
};

/// Something processing found in a photo: a label, its confidence (0..1, three decimals) and
/// its box in full-size pixels as [x, y, width, height].
struct photo_detection {
  std::string label;
  double confidence = 0;
  std::vector<int32_t> box;
  bool operator==(const photo_detection&) const = default;
};

/// The explicit-content classifier's five classes (they sum to 1).
struct moderation_scores {
  double drawing = 0;
  double hentai = 0;
  double neutral = 0;
  double porn = 0;
  double sexy = 0;
  bool operator==(const moderation_scores&) const = default;
};

/// The moderation verdict of an upload: "clear", "review" or "held" from processing, "approved"
/// once an admin released a held photo.
struct photo_moderation {
  std::string verdict;
  moderation_scores scores;
  bool operator==(const photo_moderation&) const = default;
};

/// photo.processed (processing, or media when an admin approves a held photo) and photo.held
/// (processing: explicit content, hidden until an admin decides): what the pipeline derived.
struct photo_processed {
  int64_t photo_id = 0;
  int64_t owner_id = 0;
  std::vector<std::string> tags;
  std::vector<photo_detection> objects;
  std::vector<photo_detection> faces;
  photo_moderation moderation;
  std::string text;
  /// The perceptual hash, 16 hex digits.
  std::string hash;
  int64_t width = 0;
  int64_t height = 0;
  /// Names of the variants stored.
  std::vector<std::string> variants;
  bool operator==(const photo_processed&) const = default;
};

/// photo.failed (processing): the upload could not be processed, for good.
struct photo_failed {
  int64_t photo_id = 0;
  int64_t owner_id = 0;
  std::string reason;
  bool operator==(const photo_failed&) const = default;
};

/// job.requested (processing): one turn of a job worker (see processing's run_job).
struct job_requested {
  int64_t job_id = 0;
  bool operator==(const job_requested&) const = default;
};

/// follow.created, follow.deleted (graph).
struct follow_changed {
  int64_t follower_id = 0;
  std::string follower_username;
  int64_t followee_id = 0;
  std::string followee_username;
  bool operator==(const follow_changed&) const = default;
};

/// like.created, like.deleted (graph).
struct like_changed {
  int64_t photo_id = 0;
  int64_t photo_owner_id = 0;
  int64_t user_id = 0;
  std::string username;
  bool operator==(const like_changed&) const = default;
};

/// comment.created (graph).
struct comment_created {
  int64_t comment_id = 0;
  int64_t photo_id = 0;
  int64_t photo_owner_id = 0;
  int64_t author_id = 0;
  std::string author_username;
  std::string text;
  bool operator==(const comment_created&) const = default;
};

PIXHIVE_MESSAGE(user_changed, user_id, username, display_name, disabled, created_at);
PIXHIVE_MESSAGE(photo_uploaded, photo_id, owner_id, content_type, width, height, blob_key);
PIXHIVE_MESSAGE(photo_deleted, photo_id, owner_id);
PIXHIVE_MESSAGE(photo_detection, label, confidence, box);
PIXHIVE_MESSAGE(moderation_scores, drawing, hentai, neutral, porn, sexy);
PIXHIVE_MESSAGE(photo_moderation, verdict, scores);
PIXHIVE_MESSAGE(photo_processed, photo_id, owner_id, tags, objects, faces, moderation, text, hash,
                width, height, variants);
PIXHIVE_MESSAGE(photo_failed, photo_id, owner_id, reason);
PIXHIVE_MESSAGE(job_requested, job_id);
PIXHIVE_MESSAGE(follow_changed, follower_id, follower_username, followee_id, followee_username);
PIXHIVE_MESSAGE(like_changed, photo_id, photo_owner_id, user_id, username);
PIXHIVE_MESSAGE(comment_created, comment_id, photo_id, photo_owner_id, author_id, author_username,
                text);

/// Every event type of the bus, by the name it travels under.
namespace events {

inline constexpr event_type<contracts::user_changed> user_created{"user.created"};
inline constexpr event_type<contracts::user_changed> user_updated{"user.updated"};
inline constexpr event_type<contracts::photo_uploaded> photo_uploaded{"photo.uploaded"};
inline constexpr event_type<contracts::photo_deleted> photo_deleted{"photo.deleted"};
inline constexpr event_type<contracts::photo_processed> photo_processed{"photo.processed"};
inline constexpr event_type<contracts::photo_processed> photo_held{"photo.held"};
inline constexpr event_type<contracts::photo_failed> photo_failed{"photo.failed"};
inline constexpr event_type<contracts::job_requested> job_requested{"job.requested"};
inline constexpr event_type<contracts::follow_changed> follow_created{"follow.created"};
inline constexpr event_type<contracts::follow_changed> follow_deleted{"follow.deleted"};
inline constexpr event_type<contracts::like_changed> like_created{"like.created"};
inline constexpr event_type<contracts::like_changed> like_deleted{"like.deleted"};
inline constexpr event_type<contracts::comment_created> comment_created{"comment.created"};

}  // namespace events

}  // namespace pixhive::contracts
