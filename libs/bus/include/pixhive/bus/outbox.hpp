#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>

#include "pixhive/bus/bus.hpp"
#include "pixhive/store/sql.hpp"

namespace pixhive::bus {

/// A service's transactional outbox. A write that announces an event stores the event in its
/// own transaction (`add`); a relay thread publishes stored events to the bus in id order and
/// deletes each once the bus has it. A bus outage then delays announcements instead of losing
/// them or failing the write, and a relay that dies between publishing and deleting republishes
/// under the same event id, which consumers recognise. Replicas sharing a PostgreSQL database
/// take turns (an advisory lock), so one relay at a time keeps the order.
class outbox {
 public:
  /// Creates the table `<service>_outbox` (part of the service's migrations).
  static result<void> migrate(store::database& db, const std::string& service);
  /// Relays `<service>_outbox` to `events`; with no bus (a command that runs without one)
  /// events are only stored, for the next server to relay.
  outbox(std::string service, std::shared_ptr<store::database> db,
         std::shared_ptr<event_bus> events);
  ~outbox();
  outbox(const outbox&) = delete;
  outbox& operator=(const outbox&) = delete;

  /// Stores an event inside the transaction `c` is running.
  result<void> add(store::connection& c, std::string_view type, const std::string& payload);
  /// Stores an event of kind `kind` (`events::like_created`), its payload as JSON, inside the
  /// transaction `c` is running.
  template <event_kind K>
  result<void> add(store::connection& c, const K& kind, const typename K::payload& payload) {
    return add(c, kind.name, nlohmann::json(payload).dump());
  }
  /// Tells the relay that a transaction holding events committed. It also polls on its own,
  /// for rows other replicas left behind and to retry after a failed publish.
  void wake();
  /// Relays what is stored now on the calling thread; returns how many events were published.
  result<int64_t> relay_now();
  /// Relays what is left and stops the relay thread.
  void stop();

 private:
  void run();

  std::string service_;
  std::string table_;
  std::shared_ptr<store::database> db_;
  std::shared_ptr<event_bus> events_;
  std::mutex mtx_;
  std::condition_variable cv_;
  bool woken_ = false;
  bool stopping_ = false;
  std::thread relay_;
};

}  // namespace pixhive::bus
