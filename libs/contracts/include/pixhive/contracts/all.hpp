#pragma once

#include <caf/actor_system_config.hpp>
#include <caf/message.hpp>

#include "pixhive/contracts/auth.hpp"
#include "pixhive/contracts/feed.hpp"
#include "pixhive/contracts/graph.hpp"
#include "pixhive/contracts/media.hpp"
#include "pixhive/contracts/processing.hpp"
#include "pixhive/contracts/search.hpp"

namespace pixhive::contracts {

/// Every service interface: what type registration, idempotency and the round-trip test walk.
using all_interfaces = caf::detail::type_list<auth_actor, media_actor, processing_actor,
                                              graph_actor, feed_actor, search_actor>;

/// Registers every message of every interface with CAF.
void add_all_types(caf::actor_system_config& cfg);

/// True when `request` is a request declared PIXHIVE_IDEMPOTENT, so a link may send it again
/// to another replica when the first one went down.
bool is_idempotent(const caf::message& request);

}  // namespace pixhive::contracts
