#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "pixhive/bus/redis_address.hpp"
#include "pixhive/core/error.hpp"
#include "pixhive/store/sql.hpp"

namespace pixhive::feed {

/// Home timelines: for each user, the ids of the photos their home feed shows, newest first,
/// capped at `cap` entries. A timeline either exists (built, possibly empty) or is missing (never
/// built, or evicted), in which case the feed rebuilds it. Writes only touch timelines that exist,
/// so a missing one is never half-filled. Thread-safe.
class timeline_store {
 public:
  virtual ~timeline_store() = default;
  /// True when `user`'s timeline exists.
  virtual result<bool> exists(int64_t user) = 0;
  /// Replaces `user`'s timeline with `photos` (any order; the newest `cap` are kept).
  virtual result<void> rebuild(int64_t user, const std::vector<int64_t>& photos) = 0;
  /// Adds `photos` to the timeline of each of `users` that exists, keeping the newest `cap`.
  virtual result<void> add(const std::vector<int64_t>& users,
                           const std::vector<int64_t>& photos) = 0;
  /// Removes `photos` from the timelines of `users`.
  virtual result<void> remove(const std::vector<int64_t>& users,
                              const std::vector<int64_t>& photos) = 0;
  /// Up to `limit` photo ids of `user`'s timeline below `before` (0 = from the newest), newest
  /// first.
  virtual result<std::vector<int64_t>> page(int64_t user, int64_t before, int limit) = 0;
};

/// Timelines in the service's database (all-in-one mode): tables feed_timelines and
/// feed_timeline_users, made by feed::migrate.
std::unique_ptr<timeline_store> make_sql_timelines(std::shared_ptr<store::database> db, size_t cap);

/// Timelines as Redis sorted sets (split mode), one key per user. Connecting fails with a message
/// when Redis does not answer.
result<std::unique_ptr<timeline_store>> make_redis_timelines(const bus::redis_address& address,
                                                             size_t cap);

}  // namespace pixhive::feed
