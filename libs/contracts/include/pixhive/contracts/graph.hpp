#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

#include "pixhive/contracts/common.hpp"
#include "pixhive/contracts/media.hpp"

/// The request interface of the graph service (follows, likes, comments, notifications).
namespace pixhive::contracts {

/// Follows (`follow`) or unfollows a user by username.
struct follow_request {
  viewer who;
  std::string username;
  bool follow = true;
  bool operator==(const follow_request&) const = default;
};

/// Where the caller stands with a user after a follow change.
struct follow_state {
  std::string username;
  bool following = false;
  int64_t followers = 0;
  int64_t following_count = 0;
  bool operator==(const follow_state&) const = default;
};

/// A user's follower and following counts, and whether `viewer_id` follows them (profiles).
struct follow_counts_request {
  int64_t user_id = 0;
  std::string username;
  int64_t viewer_id = 0;
  bool operator==(const follow_counts_request&) const = default;
};

/// Lists a user's followers (`followers`) or the users it follows, newest first.
struct list_follows_request {
  std::string username;
  bool followers = true;
  int64_t cursor = 0;
  int32_t limit = 20;
  bool operator==(const list_follows_request&) const = default;
};

/// A user in a list, with when the relation began.
struct person {
  int64_t id = 0;
  std::string username;
  int64_t since = 0;
  bool operator==(const person&) const = default;
};

/// One page of users; `next_cursor` is 0 on the last page.
struct person_page {
  std::vector<person> people;
  int64_t next_cursor = 0;
  bool operator==(const person_page&) const = default;
};

/// Likes (`like`) or unlikes a photo.
struct like_request {
  viewer who;
  int64_t photo_id = 0;
  bool like = true;
  bool operator==(const like_request&) const = default;
};

/// A photo's like count and whether the caller likes it.
struct like_state {
  int64_t photo_id = 0;
  int64_t likes = 0;
  bool liked_by_me = false;
  bool operator==(const like_state&) const = default;
};

/// Lists who liked a photo, newest first.
struct list_likes_request {
  int64_t photo_id = 0;
  viewer who;
  int64_t cursor = 0;
  int32_t limit = 20;
  bool operator==(const list_likes_request&) const = default;
};

/// Adds a comment (1 to 2,200 characters) to a photo.
struct comment_request {
  viewer who;
  int64_t photo_id = 0;
  std::string text;
  bool operator==(const comment_request&) const = default;
};

/// A comment.
struct comment_view {
  int64_t id = 0;
  int64_t photo_id = 0;
  int64_t author_id = 0;
  std::string author_username;
  std::string text;
  int64_t created_at = 0;
  bool operator==(const comment_view&) const = default;
};

/// Lists a photo's comments, oldest first, after `cursor`.
struct list_comments_request {
  int64_t photo_id = 0;
  viewer who;
  int64_t cursor = 0;
  int32_t limit = 20;
  bool operator==(const list_comments_request&) const = default;
};

/// One page of comments; `next_cursor` is 0 on the last page.
struct comment_page {
  std::vector<comment_view> comments;
  int64_t next_cursor = 0;
  bool operator==(const comment_page&) const = default;
};

/// Deletes a comment (its author or the photo's owner).
struct delete_comment_request {
  viewer who;
  int64_t photo_id = 0;
  int64_t comment_id = 0;
  bool operator==(const delete_comment_request&) const = default;
};

/// Lists the caller's notifications, newest first.
struct notifications_request {
  viewer who;
  int64_t cursor = 0;
  int32_t limit = 20;
  bool operator==(const notifications_request&) const = default;
};

/// Something that happened to the caller: follow, like, comment, photo_ready, photo_failed,
/// photo_held; admins also see "moderation" (an upload held for their review).
struct notification_view {
  int64_t id = 0;
  std::string kind;
  int64_t actor_id = 0;
  std::string actor_username;
  int64_t photo_id = 0;
  int64_t comment_id = 0;
  std::string text;
  int64_t created_at = 0;
  bool read = false;
  bool operator==(const notification_view&) const = default;
};

/// One page of notifications and how many are unread.
struct notification_page {
  std::vector<notification_view> items;
  int64_t unread = 0;
  int64_t next_cursor = 0;
  bool operator==(const notification_page&) const = default;
};

/// Marks all the caller's notifications read.
struct mark_read_request {
  viewer who;
  bool operator==(const mark_read_request&) const = default;
};

/// Every follower of a user (`followers`, for fan-out) or every user it follows with each one's
/// own follower count (to find the celebrities merged in at read time).
struct relations_request {
  int64_t user_id = 0;
  bool followers = true;
  bool operator==(const relations_request&) const = default;
};

/// Users related to one user and, for followees, how many followers each has (same order).
struct relation_list {
  std::vector<int64_t> ids;
  std::vector<int64_t> follower_counts;
  bool operator==(const relation_list&) const = default;
};

PIXHIVE_MESSAGE(follow_counts_request, user_id, username, viewer_id);
PIXHIVE_IDEMPOTENT(follow_counts_request);
PIXHIVE_MESSAGE(relations_request, user_id, followers);
PIXHIVE_IDEMPOTENT(relations_request);
PIXHIVE_MESSAGE(relation_list, ids, follower_counts);
PIXHIVE_MESSAGE(follow_request, who, username, follow);
PIXHIVE_MESSAGE(follow_state, username, following, followers, following_count);
PIXHIVE_MESSAGE(list_follows_request, username, followers, cursor, limit);
PIXHIVE_IDEMPOTENT(list_follows_request);
PIXHIVE_MESSAGE(person, id, username, since);
PIXHIVE_MESSAGE(person_page, people, next_cursor);
PIXHIVE_MESSAGE(like_request, who, photo_id, like);
PIXHIVE_IDEMPOTENT(like_request);
PIXHIVE_MESSAGE(like_state, photo_id, likes, liked_by_me);
PIXHIVE_MESSAGE(list_likes_request, photo_id, who, cursor, limit);
PIXHIVE_IDEMPOTENT(list_likes_request);
PIXHIVE_MESSAGE(comment_request, who, photo_id, text);
PIXHIVE_MESSAGE(comment_view, id, photo_id, author_id, author_username, text, created_at);
PIXHIVE_MESSAGE(list_comments_request, photo_id, who, cursor, limit);
PIXHIVE_IDEMPOTENT(list_comments_request);
PIXHIVE_MESSAGE(comment_page, comments, next_cursor);
PIXHIVE_MESSAGE(delete_comment_request, who, photo_id, comment_id);
PIXHIVE_MESSAGE(notifications_request, who, cursor, limit);
PIXHIVE_IDEMPOTENT(notifications_request);
PIXHIVE_MESSAGE(notification_view, id, kind, actor_id, actor_username, photo_id, comment_id, text,
                created_at, read);
PIXHIVE_MESSAGE(notification_page, items, unread, next_cursor);
PIXHIVE_MESSAGE(mark_read_request, who);

/// Asks for the likes and comments of several photos at once, as seen by `who`.
struct photo_social_request {
  viewer who;
  std::vector<int64_t> photo_ids;
  bool operator==(const photo_social_request&) const = default;
};

/// A photo's like and comment counts, and whether the viewer likes it.
struct photo_social {
  int64_t photo_id = 0;
  int64_t likes = 0;
  int64_t comments = 0;
  bool liked_by_me = false;
  bool operator==(const photo_social&) const = default;
};

/// The figures of each asked photo (photos nobody liked or commented are absent).
struct photo_social_list {
  std::vector<photo_social> items;
  bool operator==(const photo_social_list&) const = default;
};

PIXHIVE_MESSAGE(photo_social_request, who, photo_ids);
PIXHIVE_IDEMPOTENT(photo_social_request);
PIXHIVE_MESSAGE(photo_social, photo_id, likes, comments, liked_by_me);
PIXHIVE_MESSAGE(photo_social_list, items);

/// The graph service as a typed actor. Failures are pixhive::make_error values.
using graph_actor =
    caf::typed_actor<caf::replies_to<follow_request>::with<follow_state>,
                     caf::replies_to<list_follows_request>::with<person_page>,
                     caf::replies_to<like_request>::with<like_state>,
                     caf::replies_to<list_likes_request>::with<person_page>,
                     caf::replies_to<comment_request>::with<comment_view>,
                     caf::replies_to<list_comments_request>::with<comment_page>,
                     caf::replies_to<delete_comment_request>::with<done>,
                     caf::replies_to<notifications_request>::with<notification_page>,
                     caf::replies_to<mark_read_request>::with<done>,
                     caf::replies_to<photo_social_request>::with<photo_social_list>,
                     caf::replies_to<relations_request>::with<relation_list>,
                     caf::replies_to<follow_counts_request>::with<follow_state>,
                     caf::replies_to<ping_request>::with<done>>;

}  // namespace pixhive::contracts
