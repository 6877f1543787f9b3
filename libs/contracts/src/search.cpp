#include "pixhive/contracts/search.hpp"

namespace pixhive::contracts {

void add_search_types(caf::actor_system_config& cfg) {
  add_feed_types(cfg);
  cfg.add_message_type<search_request>("pixhive.search_request")
      .add_message_type<user_hit>("pixhive.user_hit")
      .add_message_type<std::vector<user_hit>>("pixhive.user_hit_list")
      .add_message_type<tag_hit>("pixhive.tag_hit")
      .add_message_type<std::vector<tag_hit>>("pixhive.tag_hit_list")
      .add_message_type<search_result>("pixhive.search_result")
      .add_message_type<tag_request>("pixhive.tag_request")
      .add_message_type<uploader>("pixhive.uploader")
      .add_message_type<std::vector<uploader>>("pixhive.uploader_list")
      .add_message_type<tag_result>("pixhive.tag_result")
      .add_message_type<reindex_request>("pixhive.reindex_request")
      .add_message_type<reindex_result>("pixhive.reindex_result");
}

}  // namespace pixhive::contracts
