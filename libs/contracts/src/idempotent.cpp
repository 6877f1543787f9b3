#include "pixhive/contracts/idempotent.hpp"

#include "pixhive/contracts/auth.hpp"
#include "pixhive/contracts/feed.hpp"
#include "pixhive/contracts/graph.hpp"
#include "pixhive/contracts/media.hpp"
#include "pixhive/contracts/processing.hpp"
#include "pixhive/contracts/search.hpp"

namespace pixhive::contracts {

namespace {

template <class... Ts>
bool first_is_one_of(const caf::message& m) {
  return (m.match_element<Ts>(0) || ...);
}

}  // namespace

bool is_idempotent(const caf::message& request) {
  if (request.empty()) return false;
  // Signup, login, refresh, upload, comment, submit and the like are not here: running them
  // twice makes two of something.
  return first_is_one_of<
      ping_request, logout_all_request, get_user_request, get_profile_request, users_by_ids_request,
      list_users_request, get_photo_request, get_blob_request, photos_by_ids_request,
      photo_by_key_request, list_photos_request, photo_count_request, media_stats_request,
      cache_stats_request, moderation_queue_request, put_variant_request, set_status_request,
      list_follows_request, list_likes_request, list_comments_request, notifications_request,
      photo_social_request, relations_request, follow_counts_request, home_feed_request,
      public_feed_request, search_request, tag_request, get_job_request, list_jobs_request,
      job_events_request, job_result_request>(request);
}

}  // namespace pixhive::contracts
