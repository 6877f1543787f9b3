#include "pixhive/contracts/media.hpp"

namespace pixhive::contracts {

void add_media_types(caf::actor_system_config& cfg) {
  add_common_types(cfg);
  cfg.add_message_type<viewer>("pixhive.viewer")
      .add_message_type<variant_info>("pixhive.variant_info")
      .add_message_type<std::vector<variant_info>>("pixhive.variant_info_list")
      .add_message_type<photo_view>("pixhive.photo_view")
      .add_message_type<std::vector<photo_view>>("pixhive.photo_view_list")
      .add_message_type<upload_request>("pixhive.upload_request")
      .add_message_type<photos_by_ids_request>("pixhive.photos_by_ids_request")
      .add_message_type<photo_count_request>("pixhive.photo_count_request")
      .add_message_type<photo_count>("pixhive.photo_count")
      .add_message_type<get_photo_request>("pixhive.get_photo_request")
      .add_message_type<get_blob_request>("pixhive.get_blob_request")
      .add_message_type<blob_reply>("pixhive.blob_reply")
      .add_message_type<list_photos_request>("pixhive.list_photos_request")
      .add_message_type<photo_page>("pixhive.photo_page")
      .add_message_type<photo_by_key_request>("pixhive.photo_by_key_request")
      .add_message_type<delete_photo_request>("pixhive.delete_photo_request")
      .add_message_type<put_variant_request>("pixhive.put_variant_request")
      .add_message_type<set_status_request>("pixhive.set_status_request")
      .add_message_type<retry_photo_request>("pixhive.retry_photo_request")
      .add_message_type<cache_stats_request>("pixhive.cache_stats_request")
      .add_message_type<configure_cache_request>("pixhive.configure_cache_request")
      .add_message_type<clear_cache_request>("pixhive.clear_cache_request")
      .add_message_type<cache_stats>("pixhive.cache_stats")
      .add_message_type<media_stats_request>("pixhive.media_stats_request")
      .add_message_type<status_count>("pixhive.status_count")
      .add_message_type<std::vector<status_count>>("pixhive.status_count_list")
      .add_message_type<media_stats>("pixhive.media_stats")
      .add_message_type<detected>("pixhive.detected")
      .add_message_type<std::vector<detected>>("pixhive.detected_list")
      .add_message_type<moderation_item>("pixhive.moderation_item")
      .add_message_type<std::vector<moderation_item>>("pixhive.moderation_item_list")
      .add_message_type<moderation_queue_request>("pixhive.moderation_queue_request")
      .add_message_type<moderation_queue>("pixhive.moderation_queue")
      .add_message_type<moderation_decision_request>("pixhive.moderation_decision_request");
}

}  // namespace pixhive::contracts
