#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

#include "pixhive/contracts/common.hpp"
#include "pixhive/contracts/media.hpp"

/// The request interface of the feed service (home and public timelines).
namespace pixhive::contracts {

/// A photo as feeds and search results list it: enough to draw a tile without more requests.
struct photo_card {
  int64_t id = 0;
  int64_t owner_id = 0;
  std::string owner_username;
  std::string owner_display_name;
  std::string caption;
  std::vector<std::string> hashtags;
  std::vector<std::string> tags;
  std::string visibility;
  int64_t width = 0;
  int64_t height = 0;
  /// Names of the stored renditions ("thumbnail", "display", …).
  std::vector<std::string> variants;
  int64_t likes = 0;
  int64_t comments = 0;
  bool liked_by_me = false;
  int64_t created_at = 0;
  bool operator==(const photo_card&) const = default;
};

/// A page of cards, newest first; `next_cursor` is 0 on the last page.
struct card_page {
  std::vector<photo_card> items;
  int64_t next_cursor = 0;
  bool operator==(const card_page&) const = default;
};

/// The signed-in viewer's home feed: their own and followed users' photos, older than `cursor`.
struct home_feed_request {
  viewer who;
  int64_t cursor = 0;
  int32_t limit = 20;
  bool operator==(const home_feed_request&) const = default;
};

/// Recent public photos of everyone, older than `cursor`.
struct public_feed_request {
  viewer who;
  int64_t cursor = 0;
  int32_t limit = 20;
  bool operator==(const public_feed_request&) const = default;
};

PIXHIVE_MESSAGE(photo_card, id, owner_id, owner_username, owner_display_name, caption, hashtags,
                tags, visibility, width, height, variants, likes, comments, liked_by_me,
                created_at);
PIXHIVE_MESSAGE(card_page, items, next_cursor);
PIXHIVE_MESSAGE(home_feed_request, who, cursor, limit);
PIXHIVE_IDEMPOTENT(home_feed_request);
PIXHIVE_MESSAGE(public_feed_request, who, cursor, limit);
PIXHIVE_IDEMPOTENT(public_feed_request);

/// The feed service as a typed actor. Failures are pixhive::make_error values.
using feed_actor = caf::typed_actor<caf::replies_to<home_feed_request>::with<card_page>,
                                    caf::replies_to<public_feed_request>::with<card_page>,
                                    caf::replies_to<ping_request>::with<done>>;

}  // namespace pixhive::contracts
