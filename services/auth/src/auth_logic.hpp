#pragma once

#include "pixhive/bus/outbox.hpp"

#include <memory>

#include "mailer.hpp"
#include "pixhive/auth/auth.hpp"
#include "pixhive/contracts/events.hpp"

namespace pixhive::auth {

/// The auth rules over a database; every call blocks (database, argon2id), so it runs inside a
/// detached worker actor.
class logic {
 public:
  logic(std::shared_ptr<store::database> db, std::shared_ptr<bus::event_bus> events,
        const auth_config& cfg);

  result<contracts::user_view> handle(const contracts::signup_request& req);
  result<contracts::user_view> handle(const contracts::verify_request& req);
  result<contracts::done> handle(const contracts::resend_request& req);
  result<contracts::session_tokens> handle(const contracts::login_request& req);
  result<contracts::session_tokens> handle(const contracts::refresh_request& req);
  result<contracts::done> handle(const contracts::logout_request& req);
  result<contracts::done> handle(const contracts::logout_all_request& req);
  result<contracts::session_tokens> handle(const contracts::change_password_request& req);
  result<contracts::done> handle(const contracts::request_reset_request& req);
  result<contracts::done> handle(const contracts::reset_password_request& req);
  result<contracts::user_view> handle(const contracts::get_user_request& req);
  result<contracts::user_view> handle(const contracts::get_profile_request& req);
  result<contracts::user_view> handle(const contracts::update_profile_request& req);
  result<contracts::user_page> handle(const contracts::users_by_ids_request& req);
  result<contracts::user_page> handle(const contracts::list_users_request& req);
  result<contracts::user_view> handle(const contracts::set_disabled_request& req);
  result<contracts::user_view> handle(const contracts::create_user_request& req);
  result<contracts::done> handle(const contracts::ping_request&);

 private:
  result<contracts::user_view> insert_user(const std::string& username, const std::string& email,
                                           const std::string& password, const std::string& role,
                                           bool verified);
  /// Mails `user` its verification code: the pending one while it is valid (so that a stranger
  /// asking for a resend cannot invalidate the code the owner holds), else a new one.
  result<void> issue_code(const contracts::user_view& user);
  /// Deletes unverified accounts older than the configured lifetime that hold `username` or
  /// `email`, so that nobody can squat a name or an address by never verifying it.
  result<void> expire_unverified(const std::string& username, const std::string& email);
  /// A new session: an access token issued after `not_before_ms` and a refresh token of
  /// `family` (a new family when empty) that expires at `expires_at` (0: the full lifetime).
  result<contracts::session_tokens> issue_tokens(const contracts::user_view& user,
                                                 std::string family = {}, int64_t expires_at = 0,
                                                 int64_t not_before_ms = 0);
  /// Ends every session of `user_id`: refresh tokens deleted, access tokens issued up to now
  /// refused by every service. Returns the revocation time (unix ms).
  result<int64_t> end_sessions(int64_t user_id);
  /// The device token a login hands out, and the check of one presented (its key, or "").
  std::string device_token(int64_t user_id) const;
  std::string device_key(int64_t user_id, const std::string& token) const;
  result<contracts::user_view> find_by_id(int64_t id);
  /// Announces a new or changed user (search indexes names from these events).
  /// Stores the event announcing `user` in the transaction `c` runs (relayed by the outbox).
  result<void> announce(store::connection& c,
                        const contracts::event_type<contracts::user_changed>& type,
                        const contracts::user_view& user);

  std::shared_ptr<store::database> db_;
  std::shared_ptr<bus::event_bus> events_;
  std::shared_ptr<bus::outbox> outbox_;
  auth_config cfg_;
  mailer mail_;
};

/// Folds and checks a username: 3–30 of [a-z0-9_.] after lower-casing ASCII letters.
result<std::string> normalize_username(const std::string& raw);
/// Folds and checks an email address (one '@', a dotted domain, no spaces, at most 254 bytes).
result<std::string> normalize_email(const std::string& raw);
/// Checks a password: at least 8 characters (code points), at most 1024 bytes.
result<void> check_password(const std::string& password);

}  // namespace pixhive::auth
