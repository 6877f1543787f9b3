#pragma once

#include <cstdint>
#include <vector>

#include <caf/actor_system.hpp>
#include <nlohmann/json.hpp>

#include "pixhive/contracts/auth.hpp"
#include "pixhive/contracts/feed.hpp"
#include "pixhive/contracts/graph.hpp"
#include "pixhive/contracts/media.hpp"
#include "pixhive/core/error.hpp"

namespace pixhive::feed {

/// The services a page of photo cards is assembled from.
struct card_sources {
  contracts::media_actor media;
  contracts::auth_actor auth;
  contracts::graph_actor graph;
};

/// The cards of `ids`, in that order, as `who` may see them: one media request for the photos,
/// one auth request for the owners' display names and one graph request for the like and comment
/// counts. Photos that are gone or not visible to `who` are left out; a failing auth or graph
/// service leaves names or counts empty rather than failing the page. Blocks: call it from a
/// worker actor.
result<std::vector<contracts::photo_card>> load_cards(caf::actor_system& sys,
                                                      const card_sources& from,
                                                      const contracts::viewer& who,
                                                      const std::vector<int64_t>& ids);

/// A card as the REST API shows it.
nlohmann::json card_json(const contracts::photo_card& c);

/// A page of cards as the REST API shows it: {"items": [...], "next_cursor": "…" | null}.
nlohmann::json card_page_json(const contracts::card_page& page);

}  // namespace pixhive::feed
