#pragma once

#include <chrono>
#include <memory>
#include <string>

#include <caf/actor_system.hpp>

#include "pixhive/bus/bus.hpp"
#include "pixhive/contracts/auth.hpp"
#include "pixhive/contracts/graph.hpp"
#include "pixhive/contracts/media.hpp"
#include "pixhive/core/config.hpp"
#include "pixhive/http/router.hpp"
#include "pixhive/store/sql.hpp"

namespace pixhive::auth {

/// Settings of the auth service; declare() documents each one.
struct auth_config {
  std::string data_dir = "./data";
  int workers = 2;
  std::string smtp_url;
  std::string smtp_from = "PixHive <no-reply@pixhive.local>";
  std::string smtp_user;
  std::string smtp_password;
  /// With a user and password set, refuse to log in without TLS (STARTTLS or smtps://), so a
  /// man in the middle that strips STARTTLS never sees the password. Off only on request.
  bool smtp_require_tls = true;
  std::string jwt_key;
  std::chrono::seconds access_ttl{15 * 60};
  std::chrono::seconds refresh_ttl{30 * 24 * 3600};
  /// Failed logins allowed per 15 minutes for one (account, client address), and for one account
  /// from everywhere: the first stops guessing, the second (higher) stops a botnet, and a
  /// stranger alone cannot lock the owner out.
  int64_t login_failures_per_ip = 5;
  int64_t login_failures_per_account = 50;
  /// Shortest time between two verification mails for one account.
  std::chrono::seconds resend_interval{60};
  /// Unverified accounts older than this are deleted, freeing their username and address.
  std::chrono::seconds unverified_ttl{7 * 24 * 3600};
  /// Where people open the web app: password-reset mail links to it.
  std::string public_url = "http://localhost:8080";

  /// Declares the auth options.
  static void declare(options& opts);
  /// Reads them; `jwt_key` is the resolved shared key.
  static result<auth_config> from(const options& opts, std::string jwt_key);
};

/// Applies the auth schema migrations.
result<void> migrate(store::database& db);

/// Spawns the auth service: `cfg.workers` detached workers (each blocking on the database and on
/// password hashing on its own thread) behind one event-based front actor that spreads requests
/// over them. The returned handle is what callers and the middleman see. New and changed users
/// are published on `events` (`user.created`, `user.updated`) when it is not null.
contracts::auth_actor spawn(caf::actor_system& sys, std::shared_ptr<store::database> db,
                            std::shared_ptr<bus::event_bus> events, const auth_config& cfg);

/// Where a public profile's counts come from; a missing handle leaves its counts out.
struct profile_sources {
  contracts::graph_actor graph;  ///< followers, following, followed_by_me
  contracts::media_actor media;  ///< photos
};

/// Adds the auth REST routes (under /api/v1) to `routes`, served by `service`. The web app's
/// refresh token lives in an HttpOnly cookie for `refresh_ttl`.
void add_routes(http::router& routes, caf::actor_system& sys, contracts::auth_actor service,
                profile_sources counts = {},
                std::chrono::seconds refresh_ttl = std::chrono::hours(30 * 24));

}  // namespace pixhive::auth
