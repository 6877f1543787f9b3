#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "pixhive/bus/bus.hpp"
#include "pixhive/bus/redis_address.hpp"

namespace pixhive::bus {

/// Settings of the Redis Streams bus.
struct redis_bus_config {
  /// Where Redis is, and the password and database to use.
  redis_address address;
  /// The stream every event is appended to.
  std::string stream = "pixhive:events";
  /// Where events go after `max_attempts` failed deliveries.
  std::string dead_letter_stream = "pixhive:events:dead";
  /// This process's consumer name within each group (unique per replica, e.g. the pod name).
  std::string consumer = "pixhive";
  int max_attempts = 5;
  /// A delivered but unacknowledged event is taken over (XAUTOCLAIM) after this long: the
  /// consumer that had it crashed or failed it.
  std::chrono::milliseconds claim_after{30'000};
  /// Longest wait of one XREADGROUP, which bounds how long stop() takes.
  std::chrono::milliseconds block{1'000};
};

/// The split-mode bus on Redis Streams: one consumer group per subscribing group; an event is
/// acknowledged only after its handler succeeded, so nothing is lost while a consumer is down
/// or crashes; failures are redelivered through XAUTOCLAIM and dead-lettered after
/// `max_attempts`. Connecting fails with a message when Redis does not answer.
result<std::unique_ptr<event_bus>> make_redis_bus(redis_bus_config cfg);

}  // namespace pixhive::bus
