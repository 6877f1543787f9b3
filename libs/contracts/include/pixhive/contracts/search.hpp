#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

#include "pixhive/contracts/common.hpp"
#include "pixhive/contracts/feed.hpp"
#include "pixhive/contracts/media.hpp"

/// The request interface of the search service.
namespace pixhive::contracts {

/// Searches photos, users or tags (`type`) for `q`; `cursor` is the offset into the ranking.
struct search_request {
  viewer who;
  std::string q;
  std::string type = "photos";
  int64_t cursor = 0;
  int32_t limit = 20;
  bool operator==(const search_request&) const = default;
};

/// A user found by name.
struct user_hit {
  int64_t id = 0;
  std::string username;
  std::string display_name;
  bool operator==(const user_hit&) const = default;
};

/// A tag and how many photos the caller may see carry it.
struct tag_hit {
  std::string tag;
  int64_t photos = 0;
  bool operator==(const tag_hit&) const = default;
};

/// What a search found (the list of its `type`); `next_cursor` is 0 on the last page.
struct search_result {
  std::vector<photo_card> photos;
  std::vector<user_hit> users;
  std::vector<tag_hit> tags;
  int64_t next_cursor = 0;
  bool operator==(const search_result&) const = default;
};

/// A tag's page: its photos newest first (older than `cursor`) and its top uploaders.
struct tag_request {
  viewer who;
  std::string tag;
  int64_t cursor = 0;
  int32_t limit = 20;
  bool operator==(const tag_request&) const = default;
};

/// A user and how many public photos of a tag they uploaded.
struct uploader {
  int64_t id = 0;
  std::string username;
  int64_t photos = 0;
  bool operator==(const uploader&) const = default;
};

/// One page of a tag's photos, with the tag's totals.
struct tag_result {
  std::string tag;
  int64_t photos_total = 0;
  card_page photos;
  std::vector<uploader> top_uploaders;
  bool operator==(const tag_result&) const = default;
};

/// Rebuilds the whole index from the auth and media services.
struct reindex_request {
  bool operator==(const reindex_request&) const = default;
};

/// How many users and photos the rebuilt index holds.
struct reindex_result {
  int64_t users = 0;
  int64_t photos = 0;
  bool operator==(const reindex_result&) const = default;
};

PIXHIVE_MESSAGE(search_request, who, q, type, cursor, limit);
PIXHIVE_IDEMPOTENT(search_request);
PIXHIVE_MESSAGE(user_hit, id, username, display_name);
PIXHIVE_MESSAGE(tag_hit, tag, photos);
PIXHIVE_MESSAGE(search_result, photos, users, tags, next_cursor);
PIXHIVE_MESSAGE(tag_request, who, tag, cursor, limit);
PIXHIVE_IDEMPOTENT(tag_request);
PIXHIVE_MESSAGE(uploader, id, username, photos);
PIXHIVE_MESSAGE(tag_result, tag, photos_total, photos, top_uploaders);
PIXHIVE_MESSAGE(reindex_request);
PIXHIVE_MESSAGE(reindex_result, users, photos);

/// The search service as a typed actor. Failures are pixhive::make_error values.
using search_actor = caf::typed_actor<caf::replies_to<search_request>::with<search_result>,
                                      caf::replies_to<tag_request>::with<tag_result>,
                                      caf::replies_to<reindex_request>::with<reindex_result>,
                                      caf::replies_to<ping_request>::with<done>>;

}  // namespace pixhive::contracts
