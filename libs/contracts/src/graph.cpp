#include "pixhive/contracts/graph.hpp"

namespace pixhive::contracts {

void add_graph_types(caf::actor_system_config& cfg) {
  add_media_types(cfg);
  cfg.add_message_type<follow_request>("pixhive.follow_request")
      .add_message_type<follow_state>("pixhive.follow_state")
      .add_message_type<list_follows_request>("pixhive.list_follows_request")
      .add_message_type<person>("pixhive.person")
      .add_message_type<person_page>("pixhive.person_page")
      .add_message_type<like_request>("pixhive.like_request")
      .add_message_type<like_state>("pixhive.like_state")
      .add_message_type<list_likes_request>("pixhive.list_likes_request")
      .add_message_type<comment_request>("pixhive.comment_request")
      .add_message_type<comment_view>("pixhive.comment_view")
      .add_message_type<list_comments_request>("pixhive.list_comments_request")
      .add_message_type<comment_page>("pixhive.comment_page")
      .add_message_type<delete_comment_request>("pixhive.delete_comment_request")
      .add_message_type<notifications_request>("pixhive.notifications_request")
      .add_message_type<notification_view>("pixhive.notification_view")
      .add_message_type<notification_page>("pixhive.notification_page")
      .add_message_type<mark_read_request>("pixhive.mark_read_request")
      .add_message_type<photo_social_request>("pixhive.photo_social_request")
      .add_message_type<photo_social>("pixhive.photo_social")
      .add_message_type<std::vector<photo_social>>("pixhive.photo_social_items")
      .add_message_type<photo_social_list>("pixhive.photo_social_list")
      .add_message_type<relations_request>("pixhive.relations_request")
      .add_message_type<follow_counts_request>("pixhive.follow_counts_request")
      .add_message_type<relation_list>("pixhive.relation_list")
      .add_message_type<std::vector<person>>("pixhive.person_list")
      .add_message_type<std::vector<comment_view>>("pixhive.comment_list")
      .add_message_type<std::vector<notification_view>>("pixhive.notification_list");
}

}  // namespace pixhive::contracts
