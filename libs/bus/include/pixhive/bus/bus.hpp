#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "pixhive/core/error.hpp"

namespace pixhive::bus {

/// A fact that happened ("photo.uploaded"), with a JSON payload.
struct event {
  int64_t id = 0;
  std::string type;
  std::string payload;
  int64_t published_at = 0;
  /// How many times this event was handed to the current group (1 on first delivery).
  int attempt = 1;
};

/// Handles one event; an error asks for redelivery.
using handler = std::function<result<void>(const event&)>;

/// The event bus: each consumer group receives every event of the types it subscribed to, at
/// least once, in publish order per group; failed deliveries are retried and, after the bus's
/// attempt limit, dead-lettered (logged and counted). Consumers must be idempotent.
class event_bus {
 public:
  virtual ~event_bus() = default;
  /// Publishes an event; returns once the bus has it.
  virtual result<void> publish(const std::string& type, std::string payload) = 0;
  /// Subscribes `group` to `types`; its handler runs on a thread of the bus, one event at a time.
  virtual void subscribe(const std::string& group, std::vector<std::string> types, handler fn) = 0;
  /// Delivers what is queued, then stops the delivery threads.
  virtual void stop() = 0;
};

/// The in-process bus of all-in-one mode: same semantics, events live in memory.
std::unique_ptr<event_bus> make_in_process_bus(int max_attempts = 5);

}  // namespace pixhive::bus
