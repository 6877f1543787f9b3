#pragma once

#include <concepts>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

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

/// A kind of event (contracts::event_type in contracts/events.hpp): the type name it travels
/// under and the struct of its payload, which converts to JSON.
template <class K>
concept event_kind = requires(const K& kind) {
  typename K::payload;
  { kind.name } -> std::convertible_to<const char*>;
};

/// Handles one event; an error asks for redelivery.
using handler = std::function<result<void>(const event&)>;

/// The event bus: each consumer group receives every event of the types it subscribed to, at
/// least once, in publish order per group; failed deliveries are retried and, after the bus's
/// attempt limit, dead-lettered (logged and counted). Consumers must be idempotent.
class event_bus {
 public:
  virtual ~event_bus() = default;
  /// Publishes an event under `id` (a stable id lets consumers recognise a republished event:
  /// the outbox relays each stored event with its row id); returns once the bus has it.
  virtual result<void> publish(const std::string& type, std::string payload, int64_t id) = 0;
  /// Publishes an event under a new id.
  result<void> publish(const std::string& type, std::string payload);
  /// Publishes an event of kind `kind` (`events::photo_failed`) under a new id, its payload as
  /// JSON.
  template <event_kind K>
  result<void> publish(const K& kind, const typename K::payload& payload) {
    return publish(kind.name, nlohmann::json(payload).dump());
  }
  /// Subscribes `group` to `types`. The handler runs on `concurrency` threads of the bus, each
  /// with one event at a time; with more than one, events of the group are handled in parallel
  /// (a worker pool) and no longer in publish order.
  virtual void subscribe(const std::string& group, std::vector<std::string> types, handler fn,
                         int concurrency = 1) = 0;
  /// Deliveries of one event before it is dead-lettered.
  virtual int max_attempts() const = 0;
  /// True when published events outlive this process (Redis); the in-process bus loses what it
  /// had queued when the process stops, so services re-publish their unfinished work at start.
  virtual bool durable() const = 0;
  /// Sends an ephemeral message to every process listening on `topic` (live job progress):
  /// not stored, lost when nobody listens.
  virtual void broadcast(const std::string& topic, const std::string& message) = 0;
  /// Calls `fn` (on a bus thread) for each broadcast on `topic` until the returned handle is
  /// released.
  virtual std::shared_ptr<void> listen(const std::string& topic,
                                       std::function<void(const std::string&)> fn) = 0;
  /// Delivers what is queued, then stops the delivery threads.
  virtual void stop() = 0;
};

/// The in-process bus of all-in-one mode: same semantics, events live in memory (a group that
/// subscribes late gets the newest 10,000 events published before it, as a Redis group made at 0
/// gets the stream).
std::unique_ptr<event_bus> make_in_process_bus(int max_attempts = 5);

}  // namespace pixhive::bus
