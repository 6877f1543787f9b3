#pragma once

#include <chrono>
#include <utility>

#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/expected.hpp>
#include <caf/scoped_actor.hpp>

namespace pixhive {

/// How long a caller waits for another service before answering 503.
inline constexpr std::chrono::seconds default_request_timeout{10};

/// Sends a request to `dest` from outside any actor without blocking the caller: a short-lived
/// actor waits for the answer (at most `timeout`) and calls `on_value` (with the reply's typed
/// arguments) or `on_error(caf::error&)`, on a CAF worker thread. Used by HTTP handlers, which
/// must not block.
template <class Handle, class OnValue, class OnError, class... Ts>
void ask_within(caf::actor_system& sys, caf::duration timeout, const Handle& dest, OnValue on_value,
                OnError on_error, Ts&&... xs) {
  // `dest` is passed as a spawn argument rather than captured: CAF 0.17 dereferences a null
  // argument tuple for argument-less spawns, which UBSan reports.
  sys.spawn(
      [timeout, on_value = std::move(on_value), on_error = std::move(on_error),
       msg = std::make_tuple(std::forward<Ts>(xs)...)](caf::event_based_actor* self,
                                                       Handle dest) mutable {
        std::apply(
            [&](auto&... args) {
              self->request(dest, timeout, std::move(args)...)
                  .then(std::move(on_value), std::move(on_error));
            },
            msg);
      },
      dest);
}

/// ask_within() with the default request timeout.
template <class Handle, class OnValue, class OnError, class... Ts>
void ask(caf::actor_system& sys, const Handle& dest, OnValue on_value, OnError on_error,
         Ts&&... xs) {
  ask_within(sys, caf::duration{default_request_timeout}, dest, std::move(on_value),
             std::move(on_error), std::forward<Ts>(xs)...);
}

/// Sends a request and waits for the typed reply, for code that may block (a detached worker
/// calling another service). A failure or a timeout comes back as the error.
template <class Reply, class Handle, class Request>
caf::expected<Reply> ask_blocking(caf::actor_system& sys, const Handle& dest, Request req) {
  caf::scoped_actor self{sys};
  caf::expected<Reply> out = caf::sec::request_timeout;
  self->request(dest, default_request_timeout, std::move(req))
      .receive([&](Reply& r) { out = std::move(r); }, [&](caf::error& e) { out = std::move(e); });
  return out;
}

}  // namespace pixhive
