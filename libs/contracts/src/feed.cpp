#include "pixhive/contracts/feed.hpp"

namespace pixhive::contracts {

void add_feed_types(caf::actor_system_config& cfg) {
  add_media_types(cfg);
  cfg.add_message_type<photo_card>("pixhive.photo_card")
      .add_message_type<std::vector<photo_card>>("pixhive.photo_card_list")
      .add_message_type<card_page>("pixhive.card_page")
      .add_message_type<home_feed_request>("pixhive.home_feed_request")
      .add_message_type<public_feed_request>("pixhive.public_feed_request");
}

}  // namespace pixhive::contracts
