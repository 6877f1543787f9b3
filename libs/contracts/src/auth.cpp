#include "pixhive/contracts/auth.hpp"

namespace pixhive::contracts {

void add_auth_types(caf::actor_system_config& cfg) {
  add_common_types(cfg);
  cfg.add_message_type<users_by_ids_request>("pixhive.users_by_ids_request")
      .add_message_type<user_view>("pixhive.user_view")
      .add_message_type<std::vector<user_view>>("pixhive.user_view_list")
      .add_message_type<signup_request>("pixhive.signup_request")
      .add_message_type<verify_request>("pixhive.verify_request")
      .add_message_type<resend_request>("pixhive.resend_request")
      .add_message_type<login_request>("pixhive.login_request")
      .add_message_type<refresh_request>("pixhive.refresh_request")
      .add_message_type<logout_request>("pixhive.logout_request")
      .add_message_type<logout_all_request>("pixhive.logout_all_request")
      .add_message_type<change_password_request>("pixhive.change_password_request")
      .add_message_type<request_reset_request>("pixhive.request_reset_request")
      .add_message_type<reset_password_request>("pixhive.reset_password_request")
      .add_message_type<session_tokens>("pixhive.session_tokens")
      .add_message_type<get_user_request>("pixhive.get_user_request")
      .add_message_type<get_profile_request>("pixhive.get_profile_request")
      .add_message_type<update_profile_request>("pixhive.update_profile_request")
      .add_message_type<list_users_request>("pixhive.list_users_request")
      .add_message_type<user_page>("pixhive.user_page")
      .add_message_type<set_disabled_request>("pixhive.set_disabled_request")
      .add_message_type<create_user_request>("pixhive.create_user_request");
}

}  // namespace pixhive::contracts
