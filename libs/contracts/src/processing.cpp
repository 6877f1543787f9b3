#include "pixhive/contracts/processing.hpp"

namespace pixhive::contracts {

void add_processing_types(caf::actor_system_config& cfg) {
  add_media_types(cfg);
  cfg.add_message_type<process_request>("pixhive.process_request")
      .add_message_type<process_reply>("pixhive.process_reply")
      .add_message_type<job_input>("pixhive.job_input")
      .add_message_type<std::vector<job_input>>("pixhive.job_input_list")
      .add_message_type<submit_jobs_request>("pixhive.submit_jobs_request")
      .add_message_type<job_view>("pixhive.job_view")
      .add_message_type<std::vector<job_view>>("pixhive.job_view_list")
      .add_message_type<job_list>("pixhive.job_list")
      .add_message_type<get_job_request>("pixhive.get_job_request")
      .add_message_type<list_jobs_request>("pixhive.list_jobs_request")
      .add_message_type<job_event>("pixhive.job_event")
      .add_message_type<std::vector<job_event>>("pixhive.job_event_list_items")
      .add_message_type<job_event_list>("pixhive.job_event_list")
      .add_message_type<job_events_request>("pixhive.job_events_request")
      .add_message_type<job_result_request>("pixhive.job_result_request")
      .add_message_type<handle_event_request>("pixhive.handle_event_request");
}

}  // namespace pixhive::contracts
