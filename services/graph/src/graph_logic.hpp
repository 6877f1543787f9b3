#pragma once

#include "pixhive/bus/outbox.hpp"
#include "pixhive/graph/graph.hpp"

namespace pixhive::graph {

/// The graph rules over the database; every call blocks, so it runs in a detached worker.
class logic {
 public:
  logic(caf::actor_system& sys, std::shared_ptr<store::database> db,
        std::shared_ptr<bus::event_bus> events, contracts::auth_actor auth,
        contracts::media_actor media);

  result<contracts::follow_state> handle(const contracts::follow_request& req);
  result<contracts::person_page> handle(const contracts::list_follows_request& req);
  result<contracts::like_state> handle(const contracts::like_request& req);
  result<contracts::person_page> handle(const contracts::list_likes_request& req);
  result<contracts::comment_view> handle(const contracts::comment_request& req);
  result<contracts::comment_page> handle(const contracts::list_comments_request& req);
  result<contracts::done> handle(const contracts::delete_comment_request& req);
  result<contracts::notification_page> handle(const contracts::notifications_request& req);
  result<contracts::done> handle(const contracts::mark_read_request& req);
  result<contracts::photo_social_list> handle(const contracts::photo_social_request& req);
  result<contracts::relation_list> handle(const contracts::relations_request& req);
  result<contracts::follow_state> handle(const contracts::follow_counts_request& req);
  result<contracts::done> handle(const contracts::ping_request&);
  /// Turns an event into a notification; running it twice on one event changes nothing.
  result<void> apply_event(const bus::event& e);

 private:
  result<contracts::user_view> user_named(const std::string& username);
  result<contracts::photo_view> photo(int64_t id, const contracts::viewer& who);
  result<contracts::follow_state> follow_state_of(const contracts::user_view& target,
                                                  int64_t viewer_id);

  caf::actor_system* sys_;
  std::shared_ptr<store::database> db_;
  std::shared_ptr<bus::outbox> outbox_;
  contracts::auth_actor auth_;
  contracts::media_actor media_;
};

}  // namespace pixhive::graph
