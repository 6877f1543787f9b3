#pragma once

#include "pixhive/search/search.hpp"

namespace pixhive::search {

/// The search index over the database; every call blocks, so it runs in a detached worker or on
/// a bus thread. Ranking by name similarity is done here, the same for both engines: SQL only
/// finds the candidates (FTS5 trigrams, or pg_trgm).
class logic {
 public:
  logic(caf::actor_system& sys, std::shared_ptr<store::database> db, feed::card_sources from);

  result<contracts::search_result> handle(const contracts::search_request& req);
  result<contracts::tag_result> handle(const contracts::tag_request& req);
  result<contracts::reindex_result> handle(const contracts::reindex_request&);
  /// Indexes the users made after the newest one indexed (an all-in-one server's in-process bus
  /// cannot carry the events of `pixhive admin create-user`, which runs in another process).
  result<int64_t> catch_up_users();
  result<contracts::done> handle(const contracts::ping_request&);
  /// Applies one event to the index; running it twice on one event changes nothing.
  result<void> apply_event(const bus::event& e);

 private:
  result<void> put_user(int64_t id, const std::string& username, const std::string& display_name,
                        bool disabled, int64_t created_at);
  result<void> put_photo(const contracts::photo_view& p, const std::vector<std::string>& tags,
                         const std::string& text);
  result<void> drop_photo(int64_t id);
  result<contracts::search_result> photos(const contracts::search_request& req,
                                          const std::vector<std::string>& words);
  result<contracts::search_result> users(const contracts::search_request& req);
  result<contracts::search_result> tags(const contracts::search_request& req);

  caf::actor_system* sys_;
  std::shared_ptr<store::database> db_;
  feed::card_sources from_;
  bool postgres_;
};

}  // namespace pixhive::search
