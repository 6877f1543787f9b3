// Cross-process actor requests next to the same calls inside one process: how many pipelined
// requests per second one caller gets, and what one blocking round trip costs.
//
//   rpc_bench serve                        publish an echo actor on a free port, print it, wait
//   rpc_bench remote PORT [N] [WINDOW]     measure against the published actor on 127.0.0.1
//   rpc_bench local [N] [WINDOW]           measure against an actor in this process
//
// bench/rpc_bench.sh runs both and prints the table.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <string>
#include <thread>
#include <vector>

#include <caf/all.hpp>
#include <caf/io/all.hpp>

#include "pixhive/links/link.hpp"

namespace {

using echo_actor = caf::typed_actor<caf::replies_to<int64_t>::with<int64_t>>;
using clock_type = std::chrono::steady_clock;
constexpr auto timeout = std::chrono::seconds(30);

// Takes an argument: CAF 0.17 dereferences a null argument tuple for argument-less spawns.
echo_actor::behavior_type echo(int64_t step) {
  return {[step](int64_t x) { return x + step; }};
}

void configure(caf::actor_system_config& cfg) {
  cfg.load<caf::io::middleman>();
  // The settings pixhive itself runs with (apps/pixhive/main.cpp).
  cfg.set("scheduler.policy", caf::atom("sharing"));
  cfg.set("middleman.workers", size_t{0});
  cfg.set("logger.verbosity", caf::atom("quiet"));
}

/// Sends `n` requests keeping `window` in flight from one event-based actor; requests/s.
double pipelined(caf::actor_system& sys, echo_actor dest, int64_t n, int64_t window) {
  auto started = clock_type::now();
  {
    caf::scoped_actor waiter{sys};
    auto done = caf::actor_cast<caf::actor>(waiter);
    sys.spawn([dest, n, window, done](caf::event_based_actor* self) {
      auto sent = std::make_shared<int64_t>(0);
      auto got = std::make_shared<int64_t>(0);
      auto next = std::make_shared<std::function<void()>>();
      *next = [=] {
        auto i = (*sent)++;
        self->request(dest, timeout, i)
            .then(
                [=](int64_t) {
                  if (++*got == n) {
                    self->send(done, caf::ok_atom::value);
                    self->quit();
                  } else if (*sent < n) {
                    (*next)();
                  }
                },
                [=](caf::error& e) {
                  std::cerr << "request failed: " << self->system().render(e) << "\n";
                  self->send(done, caf::ok_atom::value);
                  self->quit();
                });
      };
      for (int64_t i = 0; i < std::min(window, n); ++i) (*next)();
    });
    waiter->receive([](caf::ok_atom) {});
  }
  auto secs = std::chrono::duration<double>(clock_type::now() - started).count();
  return static_cast<double>(n) / secs;
}

/// `n` blocking request/receive round trips; their durations in microseconds, sorted.
std::vector<double> round_trips(caf::actor_system& sys, echo_actor dest, int64_t n) {
  caf::scoped_actor self{sys};
  std::vector<double> us;
  us.reserve(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) {
    auto t = clock_type::now();
    self->request(dest, timeout, i).receive([](int64_t) {}, [](caf::error&) {});
    us.push_back(std::chrono::duration<double, std::micro>(clock_type::now() - t).count());
  }
  std::sort(us.begin(), us.end());
  return us;
}

void measure(caf::actor_system& sys, echo_actor dest, const std::string& label, int64_t n,
             int64_t window) {
  pipelined(sys, dest, std::min<int64_t>(n, 2000), window);  // warm-up: connections, caches
  auto rate = pipelined(sys, dest, n, window);
  auto rt = round_trips(sys, dest, std::min<int64_t>(n, 20000));
  auto at = [&](double q) {
    return rt[static_cast<size_t>(q * static_cast<double>(rt.size() - 1))];
  };
  std::printf("%s pipelined_rps %.0f window %lld\n", label.c_str(), rate,
              static_cast<long long>(window));
  std::printf("%s roundtrip_us p50 %.1f p99 %.1f\n", label.c_str(), at(0.5), at(0.99));
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.empty()) {
    std::cerr << "usage: rpc_bench serve | remote PORT [N] [WINDOW] | linked PORT [N] [WINDOW] | "
                 "local [N] "
                 "[WINDOW]\n";
    return 2;
  }
  caf::actor_system_config cfg;
  configure(cfg);
  caf::actor_system sys{cfg};
  auto arg = [&](size_t i, int64_t fallback) {
    return args.size() > i ? std::stoll(args[i]) : fallback;
  };
  if (args[0] == "serve") {
    auto actor = sys.spawn(echo, int64_t{0});
    auto port = sys.middleman().publish(actor, 0, "127.0.0.1", true);
    if (!port) {
      std::cerr << sys.render(port.error()) << "\n";
      return 1;
    }
    std::cout << "port " << *port << std::endl;
    std::string line;
    std::getline(std::cin, line);  // until the runner closes stdin
    caf::anon_send_exit(actor, caf::exit_reason::user_shutdown);
    return 0;
  }
  if (args[0] == "remote" && args.size() >= 2) {
    auto dest = sys.middleman().remote_actor<echo_actor>("127.0.0.1",
                                                         static_cast<uint16_t>(std::stoi(args[1])));
    if (!dest) {
      std::cerr << sys.render(dest.error()) << "\n";
      return 1;
    }
    measure(sys, *dest, "remote", arg(2, 200000), arg(3, 256));
    return 0;
  }
  if (args[0] == "linked" && args.size() >= 2) {
    // The path services take: a link's proxy in front of the replica (balancing, in-flight
    // tracking for retries) instead of the bare remote actor.
    auto l = pixhive::links::link::remote(
        sys, {"echo", "127.0.0.1:" + args[1], "echo-actor", true, std::chrono::seconds(5)});
    if (!l) {
      std::cerr << "cannot make the link\n";
      return 1;
    }
    for (int i = 0; i < 100 && (*l)->state().connected == 0; ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    measure(sys, caf::actor_cast<echo_actor>((*l)->handle()), "linked", arg(2, 200000),
            arg(3, 256));
    caf::anon_send_exit((*l)->handle(), caf::exit_reason::user_shutdown);
    return 0;
  }
  if (args[0] == "local") {
    auto dest = sys.spawn(echo, int64_t{0});
    measure(sys, dest, "local", arg(1, 200000), arg(2, 256));
    caf::anon_send_exit(dest, caf::exit_reason::user_shutdown);
    return 0;
  }
  std::cerr << "unknown mode '" << args[0] << "'\n";
  return 2;
}
