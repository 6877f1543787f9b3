#pragma once

#include "pixhive/feed/feed.hpp"

namespace pixhive::feed {

/// The feed rules over the database and the timeline store; every call blocks, so it runs in a
/// detached worker or on a bus thread.
class logic {
 public:
  logic(caf::actor_system& sys, std::shared_ptr<store::database> db,
        std::shared_ptr<timeline_store> timelines, card_sources from, const feed_config& cfg);

  result<contracts::card_page> handle(const contracts::home_feed_request& req);
  result<contracts::card_page> handle(const contracts::public_feed_request& req);
  result<contracts::done> handle(const contracts::ping_request&);
  /// Applies one event to posts and timelines; running it twice on one event changes nothing.
  result<void> apply_event(const bus::event& e);

 private:
  result<void> on_processed(int64_t photo_id);
  result<void> on_deleted(int64_t photo_id, int64_t owner_id);
  /// Makes `follower`'s timeline agree with whether it follows `followee` now (the graph
  /// service's answer), so created/deleted events may arrive in any order or twice.
  result<void> sync_follow(int64_t follower, int64_t followee);
  result<contracts::relation_list> relations(int64_t user, bool followers);
  /// The newest `limit` public photos of `owners` (and every photo of `self`) below `before`.
  result<std::vector<int64_t>> posts_of(const std::vector<int64_t>& owners, int64_t self,
                                        int64_t before, size_t limit);
  result<contracts::card_page> cards_page(const contracts::viewer& who, std::vector<int64_t> ids,
                                          int32_t limit);

  caf::actor_system* sys_;
  std::shared_ptr<store::database> db_;
  std::shared_ptr<timeline_store> timelines_;
  card_sources from_;
  feed_config cfg_;
};

}  // namespace pixhive::feed
