#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <caf/actor.hpp>
#include <caf/actor_system.hpp>
#include <caf/message.hpp>
#include <nlohmann/json.hpp>

#include "pixhive/core/error.hpp"

namespace pixhive::links {

/// One replica address of a dependency.
struct endpoint {
  std::string host;
  uint16_t port = 0;
  bool operator==(const endpoint&) const = default;
};

/// Parses "host:port" (a DNS name whose A/AAAA records are the replicas, as a Kubernetes
/// headless Service gives) or a static list "host:port,host:port". Empty or malformed → 400
/// `bad_config` naming `option`.
result<std::vector<endpoint>> parse_targets(const std::string& text, const std::string& option);

/// What a link knows of its dependency, for /readyz.
struct link_state {
  std::string name;
  size_t known = 0;      // replica addresses found by the last resolve
  size_t connected = 0;  // replicas with a live connection
  std::string last_error;
  bool required = true;
  bool ready() const { return connected > 0 || !required; }
  nlohmann::json to_json() const;
};

/// How to find and keep a dependency's replicas.
struct link_config {
  std::string name;     // "media", "auth", …
  std::string targets;  // as parse_targets() reads it
  std::string option;   // the option it came from, for messages
  bool required = true;
  std::chrono::milliseconds resolve_every{5000};
  std::chrono::milliseconds connect_timeout{2000};
  /// Deadline of one request to one replica (callers keep their own, usually shorter).
  std::chrono::milliseconds request_timeout{30000};
  /// True for requests that may run twice (reads): when their replica goes down or does not
  /// answer, they are sent once more, to another replica.
  std::function<bool(const caf::message&)> idempotent;
};

class link_status;

/// A dependency of this process: a handle that is either the local actor or a local proxy
/// actor in front of every remote replica. The proxy resolves the targets again every
/// `resolve_every`, connects to each replica lazily and again with jittered backoff, stops
/// routing to a replica as soon as its node goes down, and passes each request to the live
/// replica with the fewest requests outstanding (round-robin among equals). A request whose
/// replica goes down is retried once on another when it is idempotent, and fails with 503
/// otherwise; with no live replica a request fails at once with 503 `service_unavailable`
/// naming the dependency. Callers cast handle() to the service's typed handle.
class link {
 public:
  /// A dependency served by this process.
  static std::shared_ptr<link> local(std::string name, caf::actor handle);
  /// A dependency in other processes; the process starts whether or not they are up.
  static result<std::shared_ptr<link>> remote(caf::actor_system& sys, link_config cfg);

  /// The handle requests go to; the same for the life of the process.
  const caf::actor& handle() const { return handle_; }
  /// The current state (thread-safe).
  link_state state() const;

 private:
  link(caf::actor handle, std::shared_ptr<link_status> status)
      : handle_(std::move(handle)), status_(std::move(status)) {}
  caf::actor handle_;
  std::shared_ptr<link_status> status_;
};

/// Readiness of a set of links: ready when every required one is, with each one's state.
nlohmann::json links_json(const std::vector<std::shared_ptr<link>>& links, bool& ready);

}  // namespace pixhive::links
