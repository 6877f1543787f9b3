#pragma once

#include <cstdint>
#include <vector>

#include "pixhive/contracts/message.hpp"

/// Message types shared by every service interface.
namespace pixhive::contracts {

/// Asks whether the service's store answers.
struct ping_request {
  bool operator==(const ping_request&) const = default;
};

/// An answer that carries nothing but success.
struct done {
  bool ok = true;
  bool operator==(const done&) const = default;
};

PIXHIVE_MESSAGE(ping_request);
PIXHIVE_IDEMPOTENT(ping_request);
PIXHIVE_MESSAGE(done, ok);

}  // namespace pixhive::contracts
