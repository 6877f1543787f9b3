#pragma once

#include <caf/message.hpp>

namespace pixhive::contracts {

/// True when `request` may run twice with the effect of once (reads, and writes that set a
/// value), so a link may send it again to another replica when the first one went down.
bool is_idempotent(const caf::message& request);

}  // namespace pixhive::contracts
