#include "pixhive/contracts/common.hpp"

namespace pixhive::contracts {

void add_common_types(caf::actor_system_config& cfg) {
  cfg.add_message_type<ping_request>("pixhive.ping_request")
      .add_message_type<done>("pixhive.done")
      .add_message_type<std::vector<int64_t>>("pixhive.id_list");
}

}  // namespace pixhive::contracts
