#include <filesystem>

#include <caf/all.hpp>

#include "auth_logic.hpp"
#include "pixhive/auth/auth.hpp"
#include "pixhive/core/worker_pool.hpp"

namespace pixhive::auth {

using namespace contracts;

void auth_config::declare(options& opts) {
  opts.add("auth-workers", "2",
           "auth worker actors, each with its own thread for database calls and password hashing",
           check::whole(1, 64))
      .add("smtp-url", "",
           "SMTP server for verification mail (smtp://host:25 or smtps://host:465); when unset, "
           "mail is written as .eml files to <data-dir>/outbox")
      .add("smtp-from", "PixHive <no-reply@pixhive.local>", "sender of verification mail")
      .add("smtp-user", "", "SMTP user name, if the server wants one")
      .add("smtp-password", "", "SMTP password")
      .add("smtp-starttls", "required",
           "with an SMTP user: 'required' refuses to send the password without TLS (STARTTLS or "
           "smtps://); 'optional' sends it in clear when the server offers no STARTTLS",
           check::one_of({"required", "optional"}))
      .add("access-token-ttl", "15m", "lifetime of access tokens (JWT)",
           check::duration(std::chrono::seconds(1)))
      .add("refresh-token-ttl", "720h", "lifetime of refresh tokens",
           check::duration(std::chrono::seconds(1)))
      .add("login-failures-per-ip", "5",
           "failed logins allowed per 15 minutes for one account from one client address",
           check::whole(1, 1'000'000))
      .add("login-failures-per-account", "50",
           "failed logins allowed per 15 minutes for one account from all addresses together",
           check::whole(1, 1'000'000))
      .add("resend-interval", "60s", "shortest time between two verification mails per account",
           check::duration())
      .add("unverified-account-ttl", "168h",
           "unverified accounts older than this are deleted, freeing their username and email",
           check::duration(std::chrono::seconds(1)))
      .add("public-url", "http://localhost:8080",
           "the address people open PixHive at; password-reset mail links to <public-url>/reset",
           check::starts_with({"http://", "https://"}));
}

result<auth_config> auth_config::from(const options& opts, std::string jwt_key) {
  auth_config cfg;
  cfg.data_dir = opts.get("data-dir");
  auto workers = opts.get_int("auth-workers");
  if (!workers) return workers.error();
  cfg.workers = static_cast<int>(*workers);
  cfg.smtp_url = opts.get("smtp-url");
  cfg.smtp_from = opts.get("smtp-from");
  cfg.smtp_user = opts.get("smtp-user");
  cfg.smtp_password = opts.get("smtp-password");
  cfg.smtp_require_tls = opts.get("smtp-starttls") == "required";
  auto access = opts.get_duration("access-token-ttl");
  if (!access) return access.error();
  auto refresh = opts.get_duration("refresh-token-ttl");
  if (!refresh) return refresh.error();
  cfg.access_ttl = std::chrono::duration_cast<std::chrono::seconds>(*access);
  cfg.refresh_ttl = std::chrono::duration_cast<std::chrono::seconds>(*refresh);
  for (auto [name, field] :
       {std::pair{"login-failures-per-ip", &cfg.login_failures_per_ip},
        std::pair{"login-failures-per-account", &cfg.login_failures_per_account}}) {
    auto v = opts.get_int(name);
    if (!v) return v.error();
    *field = *v;
  }
  auto resend = opts.get_duration("resend-interval");
  if (!resend) return resend.error();
  cfg.resend_interval = std::chrono::duration_cast<std::chrono::seconds>(*resend);
  auto unverified = opts.get_duration("unverified-account-ttl");
  if (!unverified) return unverified.error();
  cfg.unverified_ttl = std::chrono::duration_cast<std::chrono::seconds>(*unverified);
  cfg.public_url = opts.get("public-url");
  while (!cfg.public_url.empty() && cfg.public_url.back() == '/') cfg.public_url.pop_back();
  cfg.jwt_key = std::move(jwt_key);
  return cfg;
}

result<void> migrate(store::database& db) {
  static const std::vector<store::migration> steps{{1, R"sql(
CREATE TABLE users (
  id BIGINT PRIMARY KEY,
  username TEXT NOT NULL UNIQUE,
  email TEXT NOT NULL UNIQUE,
  password_hash TEXT NOT NULL,
  display_name TEXT NOT NULL DEFAULT '',
  bio TEXT NOT NULL DEFAULT '',
  role TEXT NOT NULL DEFAULT 'user',
  verified INTEGER NOT NULL DEFAULT 0,
  disabled INTEGER NOT NULL DEFAULT 0,
  created_at BIGINT NOT NULL
);
CREATE TABLE verification_codes (
  user_id BIGINT PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
  code_hash TEXT NOT NULL,
  expires_at BIGINT NOT NULL,
  attempts INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE refresh_tokens (
  token_hash TEXT PRIMARY KEY,
  user_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  expires_at BIGINT NOT NULL,
  created_at BIGINT NOT NULL
);
CREATE INDEX refresh_tokens_user ON refresh_tokens (user_id);
CREATE TABLE login_failures (
  login TEXT NOT NULL,
  at BIGINT NOT NULL
);
CREATE INDEX login_failures_login ON login_failures (login, at);
)sql"},
                                                   {2, R"sql(
ALTER TABLE login_failures ADD COLUMN ip TEXT NOT NULL DEFAULT '';
CREATE INDEX login_failures_login_ip ON login_failures (login, ip, at);
ALTER TABLE verification_codes ADD COLUMN issued_at BIGINT NOT NULL DEFAULT 0;
)sql"},
                                                   {3, R"sql(
ALTER TABLE refresh_tokens ADD COLUMN family TEXT NOT NULL DEFAULT '';
ALTER TABLE refresh_tokens ADD COLUMN used INTEGER NOT NULL DEFAULT 0;
UPDATE refresh_tokens SET family = token_hash;
CREATE INDEX refresh_tokens_family ON refresh_tokens (family);
ALTER TABLE verification_codes ADD COLUMN code TEXT NOT NULL DEFAULT '';
CREATE TABLE password_resets (
  token_hash TEXT PRIMARY KEY,
  user_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  expires_at BIGINT NOT NULL,
  created_at BIGINT NOT NULL
);
CREATE INDEX password_resets_user ON password_resets (user_id, created_at);
CREATE INDEX users_unverified ON users (verified, created_at);
)sql"}};
  if (auto m = store::migrate(db, "auth", steps); !m) return m;
  return bus::outbox::migrate(db, "auth");
}

auth_actor spawn(caf::actor_system& sys, std::shared_ptr<store::database> db,
                 std::shared_ptr<bus::event_bus> events, const auth_config& cfg) {
  auto impl = std::make_shared<logic>(db, std::move(events), cfg);
  return spawn_pool<auth_actor, ping_request>(sys, "auth", cfg.workers, impl);
}

}  // namespace pixhive::auth
