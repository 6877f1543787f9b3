#pragma once

#include <utility>
#include <vector>

#include <caf/actor_system.hpp>
#include <caf/spawn_options.hpp>

namespace pixhive {

/// State of a pool's front actor.
template <class Handle>
struct pool_state {
  std::vector<Handle> workers;
  Handle health;
  size_t next = 0;
};

/// The front of a worker pool: an event-based actor (it never blocks) that delegates each
/// request to the next worker, round-robin, so the worker answers the caller directly. `Ping`
/// requests go to a dedicated worker, so readiness checks never queue behind slow work.
template <class Handle, class Ping, class... Requests>
typename Handle::behavior_type pool_front(
    typename Handle::template stateful_pointer<pool_state<Handle>> self,
    std::vector<Handle> workers, Handle health) {
  self->state.workers = std::move(workers);
  self->state.health = std::move(health);
  for (auto& w : self->state.workers) self->link_to(w);
  self->link_to(self->state.health);
  return {
      [self](Requests& r) {
        auto& s = self->state;
        return self->delegate(s.workers[s.next++ % s.workers.size()], std::move(r));
      }...,
      [self](Ping& r) { return self->delegate(self->state.health, std::move(r)); },
  };
}

/// Spawns `n` detached workers running `worker(self, args...)` (each on its own thread, so their
/// blocking database and file I/O stalls nobody else), one more for `Ping`, and the front that
/// callers talk to. `Requests` lists every request type of `Handle` except `Ping`.
template <class Handle, class Ping, class... Requests, class Worker, class... Args>
Handle spawn_pool(caf::actor_system& sys, int n, Worker worker, const Args&... args) {
  std::vector<Handle> workers;
  for (int i = 0; i < n; ++i) workers.push_back(sys.spawn<caf::detached>(worker, args...));
  auto health = sys.spawn<caf::detached>(worker, args...);
  return sys.spawn(pool_front<Handle, Ping, Requests...>, std::move(workers), std::move(health));
}

}  // namespace pixhive
