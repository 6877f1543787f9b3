#pragma once

#include <chrono>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <prometheus/gauge.h>
#include <caf/actor_system.hpp>
#include <caf/all.hpp>
#include <caf/spawn_options.hpp>

namespace pixhive {

/// Asks a pool's actors to record their mailbox size; outside every typed interface, so it
/// reaches them through their default handlers.
using mailbox_tick_atom = caf::atom_constant<caf::atom("mbox_tick")>;

/// The gauge of one pool actor's queued messages (pixhive_actor_mailbox_size{actor,worker}).
prometheus::Gauge& mailbox_gauge(const std::string& actor, const std::string& worker);

/// How often a pool's front asks its workers for their mailbox sizes.
inline constexpr std::chrono::seconds mailbox_sample_every{1};

/// The reply type of request `R` in the typed interface `Handle`.
template <class List>
struct single_reply;
template <class T>
struct single_reply<caf::detail::type_list<T>> {
  using type = T;
};
template <class Handle, class R>
using reply_of = typename single_reply<caf::response_type_t<typename Handle::signatures, R>>::type;

/// State of a pool's front actor: the requests waiting for a worker, in arrival order, and the
/// workers free to take one.
template <class Handle>
struct pool_state {
  std::vector<Handle> workers;
  std::vector<Handle> idle;
  std::deque<std::function<void(const Handle&)>> waiting;
  Handle health;
  prometheus::Gauge* mailbox = nullptr;
};

/// Messages in `self`'s mailbox as of its last fetch from the lock-free inbox (every
/// activation fetches all there is). mailbox().size() would fetch again first, and that
/// template's node casts trip UBSan's vptr check when compiled into our code.
template <class Self>
size_t queued(Self* self) {
  return self->mailbox().queue().total_task_size();
}

/// Makes `self` record its mailbox size in `gauge` on each mailbox tick. A worker reads its
/// own mailbox on its own thread: CAF's mailbox may not be read from another one.
template <class Self>
void sample_mailbox_on_tick(Self* self, prometheus::Gauge* gauge) {
  self->set_default_handler(
      [self, gauge](caf::scheduled_actor*, caf::message_view& x) -> caf::result<caf::message> {
        if (!x.content().template match_elements<mailbox_tick_atom>())
          return caf::sec::unexpected_message;
        gauge->Set(static_cast<double>(queued(self)));
        return caf::message{};
      });
}

/// Hands the oldest waiting request to a free worker, as long as there are both.
template <class Self>
void dispatch(Self* self) {
  auto& s = self->state;
  while (!s.idle.empty() && !s.waiting.empty()) {
    auto worker = std::move(s.idle.back());
    s.idle.pop_back();
    auto job = std::move(s.waiting.front());
    s.waiting.pop_front();
    job(worker);
  }
}

/// The front of a worker pool: an event-based actor (it never blocks) that queues requests in
/// arrival order and gives each to the next worker that is free, so a slow request delays only
/// the ones behind it, not those a round-robin turn would have put on the same worker (the tail
/// latency of a full queue). `Ping` requests go to a dedicated worker, so readiness checks never
/// queue behind slow work.
template <class Handle, class Ping, class... Requests>
typename Handle::behavior_type pool_front(
    typename Handle::template stateful_pointer<pool_state<Handle>> self,
    std::vector<Handle> workers, Handle health, std::string name) {
  self->state.workers = std::move(workers);
  self->state.idle = self->state.workers;
  self->state.health = std::move(health);
  self->state.mailbox = &mailbox_gauge(name, "front");
  for (auto& w : self->state.workers) self->link_to(w);
  self->link_to(self->state.health);
  // Every second the front records its queue and asks each worker to record its mailbox.
  self->set_default_handler(
      [self](caf::scheduled_actor*, caf::message_view& x) -> caf::result<caf::message> {
        if (!x.content().template match_elements<mailbox_tick_atom>())
          return caf::sec::unexpected_message;
        auto& s = self->state;
        s.mailbox->Set(static_cast<double>(queued(self) + s.waiting.size()));
        for (auto& w : s.workers)
          caf::anon_send(caf::actor_cast<caf::actor>(w), mailbox_tick_atom::value);
        caf::anon_send(caf::actor_cast<caf::actor>(s.health), mailbox_tick_atom::value);
        caf::delayed_anon_send(caf::actor_cast<caf::actor>(self), mailbox_sample_every,
                               mailbox_tick_atom::value);
        return caf::message{};
      });
  caf::anon_send(caf::actor_cast<caf::actor>(self), mailbox_tick_atom::value);
  return {
      [self](Requests& r) {
        using reply = reply_of<Handle, Requests>;
        auto rp = self->template make_response_promise<reply>();
        self->state.waiting.emplace_back([self, rp, r = std::move(r)](const Handle& w) mutable {
          auto done = [self, w] {
            self->state.idle.push_back(w);
            dispatch(self);
          };
          // The caller's own timeout bounds its wait. The front waits for the worker however
          // long it takes: giving up would count a busy worker as free.
          self->request(w, caf::infinite, std::move(r))
              .then(
                  [rp, done](reply& x) mutable {
                    rp.deliver(std::move(x));
                    done();
                  },
                  [rp, done](caf::error& e) mutable {
                    rp.deliver(std::move(e));
                    done();
                  });
        });
        dispatch(self);
        return rp;
      }...,
      [self](Ping& r) { return self->delegate(self->state.health, std::move(r)); },
  };
}

/// The request of a typed-interface signature.
template <class Signature>
struct request_of;
template <class In, class... Out>
struct request_of<caf::typed_mpi<caf::detail::type_list<In>, caf::output_tuple<Out...>>> {
  using type = In;
};

/// A worker's behaviour: each request `R` of `Handle` is answered by `impl->handle(r)`, so the
/// logic's overload set is the only list of what a service does.
template <class Handle, class Impl, class... Signatures>
typename Handle::behavior_type serve(const std::shared_ptr<Impl>& impl,
                                     caf::detail::type_list<Signatures...>) {
  return {[impl](typename request_of<Signatures>::type& r)
              -> caf::result<reply_of<Handle, typename request_of<Signatures>::type>> {
    return impl->handle(r);
  }...};
}

/// pool_front with the requests of `Signatures` other than `Ping`.
template <class Handle, class Ping, class... Requests>
auto front_of(caf::detail::type_list<Requests...>) {
  return pool_front<Handle, Ping, Requests...>;
}
template <class Handle, class Ping, class... Signatures>
auto front_for(caf::detail::type_list<Signatures...>) {
  using requests = caf::detail::tl_filter_not_type_t<
      caf::detail::type_list<typename request_of<Signatures>::type...>, Ping>;
  return front_of<Handle, Ping>(requests{});
}

/// Spawns `n` detached workers serving `Handle` with `impl` (each on its own thread, so their
/// blocking database and file I/O stalls nobody else), one more for `Ping`, and the front that
/// callers talk to. `name` labels the pool's mailbox gauges.
template <class Handle, class Ping, class Impl>
Handle spawn_pool(caf::actor_system& sys, const std::string& name, int n,
                  std::shared_ptr<Impl> impl) {
  // The logic goes through spawn rather than a capture: CAF 0.17 dereferences an empty argument
  // tuple when a function actor takes none besides `self`.
  auto spawn_worker = [&](const std::string& label) {
    return sys.spawn<caf::detached>(
        [](typename Handle::pointer self, prometheus::Gauge* gauge, std::shared_ptr<Impl> logic) {
          sample_mailbox_on_tick(self, gauge);
          return serve<Handle>(logic, typename Handle::signatures{});
        },
        &mailbox_gauge(name, label), impl);
  };
  std::vector<Handle> workers;
  for (int i = 0; i < n; ++i) workers.push_back(spawn_worker(std::to_string(i)));
  auto health = spawn_worker("health");
  return sys.spawn(front_for<Handle, Ping>(typename Handle::signatures{}), std::move(workers),
                   std::move(health), name);
}

}  // namespace pixhive
