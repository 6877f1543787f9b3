#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

#include "pixhive/contracts/common.hpp"

/// The request interface of the auth service and its message types. Every field is plain data
/// so that the same messages travel in-process and across the middleman.
namespace pixhive::contracts {

/// A user as the auth service describes it; HTTP routes decide which fields a caller sees.
struct user_view {
  int64_t id = 0;
  std::string username;
  std::string email;
  std::string display_name;
  std::string bio;
  std::string role;  // "user" or "admin"
  bool verified = false;
  bool disabled = false;
  int64_t created_at = 0;
  bool operator==(const user_view&) const = default;
};

/// Creates an unverified user and sends it a verification code.
struct signup_request {
  std::string username;
  std::string email;
  std::string password;
  bool operator==(const signup_request&) const = default;
};

/// Confirms an email address with the code that was sent to it.
struct verify_request {
  std::string username;
  std::string code;
  bool operator==(const verify_request&) const = default;
};

/// Sends a fresh verification code to an unverified user.
struct resend_request {
  std::string username;
  bool operator==(const resend_request&) const = default;
};

/// Logs in with a username or email and a password.
struct login_request {
  std::string login;
  std::string password;
  /// Where the attempt came from: failures are throttled per (account, client address).
  std::string client_ip;
  /// The device token an earlier login of this account handed out ("" for none): a known device
  /// is throttled on its own, so strangers' guesses cannot lock the owner out.
  std::string device_token;
  bool operator==(const login_request&) const = default;
};

/// Swaps a refresh token for a new access token and a new refresh token.
struct refresh_request {
  std::string refresh_token;
  bool operator==(const refresh_request&) const = default;
};

/// Revokes a refresh token.
struct logout_request {
  std::string refresh_token;
  bool operator==(const logout_request&) const = default;
};

/// Ends every session of a user: refresh tokens deleted, access tokens refused.
struct logout_all_request {
  int64_t user_id = 0;
  bool operator==(const logout_all_request&) const = default;
};

/// Changes a user's password; every other session ends. Answers a new session.
struct change_password_request {
  int64_t user_id = 0;
  std::string current_password;
  std::string new_password;
  bool operator==(const change_password_request&) const = default;
};

/// Mails a password-reset link to `email` if an account has it; the same answer either way.
struct request_reset_request {
  std::string email;
  /// Requests are limited per address and per client (an IPv6 client by its /64).
  std::string client_ip;
  bool operator==(const request_reset_request&) const = default;
};

/// Sets a new password with the single-use token a reset mail carried; every session ends.
struct reset_password_request {
  std::string token;
  std::string new_password;
  bool operator==(const reset_password_request&) const = default;
};

/// The tokens a login or refresh hands out.
struct session_tokens {
  std::string access_token;
  std::string refresh_token;
  int64_t expires_in = 0;  // seconds until the access token expires
  user_view user;
  /// Set by a login: what the device presents at its next login.
  std::string device_token;
  bool operator==(const session_tokens&) const = default;
};

/// Reads a user by id (the caller's own account).
struct get_user_request {
  int64_t user_id = 0;
  bool operator==(const get_user_request&) const = default;
};

/// Reads a user by username (a public profile).
struct get_profile_request {
  std::string username;
  bool operator==(const get_profile_request&) const = default;
};

/// Changes the editable parts of a profile; fields whose `set_` flag is false stay as they are.
struct update_profile_request {
  int64_t user_id = 0;
  bool set_display_name = false;
  std::string display_name;
  bool set_bio = false;
  std::string bio;
  bool operator==(const update_profile_request&) const = default;
};

/// Lists users by ascending id, starting after `after_id`.
struct list_users_request {
  int64_t after_id = 0;
  int32_t limit = 20;
  bool operator==(const list_users_request&) const = default;
};

/// One page of users; `next_after_id` is 0 on the last page.
struct user_page {
  std::vector<user_view> users;
  int64_t next_after_id = 0;
  bool operator==(const user_page&) const = default;
};

/// Reads several users at once (display names for feed and search pages), in the order of `ids`;
/// unknown ids are left out.
struct users_by_ids_request {
  std::vector<int64_t> ids;
  bool operator==(const users_by_ids_request&) const = default;
};

/// Disables or re-enables a user; disabling revokes its refresh tokens.
struct set_disabled_request {
  int64_t user_id = 0;
  bool disabled = false;
  bool operator==(const set_disabled_request&) const = default;
};

/// Creates a user directly (the admin command line): optionally verified and admin.
struct create_user_request {
  std::string username;
  std::string email;
  std::string password;
  bool admin = false;
  bool verified = true;
  bool operator==(const create_user_request&) const = default;
};

PIXHIVE_MESSAGE(users_by_ids_request, ids);
PIXHIVE_IDEMPOTENT(users_by_ids_request);
PIXHIVE_MESSAGE(user_view, id, username, email, display_name, bio, role, verified, disabled,
                created_at);
PIXHIVE_MESSAGE(signup_request, username, email, password);
PIXHIVE_MESSAGE(verify_request, username, code);
PIXHIVE_MESSAGE(resend_request, username);
PIXHIVE_MESSAGE(login_request, login, password, client_ip, device_token);
PIXHIVE_MESSAGE(refresh_request, refresh_token);
PIXHIVE_MESSAGE(logout_request, refresh_token);
PIXHIVE_MESSAGE(logout_all_request, user_id);
PIXHIVE_IDEMPOTENT(logout_all_request);
PIXHIVE_MESSAGE(change_password_request, user_id, current_password, new_password);
PIXHIVE_MESSAGE(request_reset_request, email, client_ip);
PIXHIVE_MESSAGE(reset_password_request, token, new_password);
PIXHIVE_MESSAGE(session_tokens, access_token, refresh_token, expires_in, user, device_token);
PIXHIVE_MESSAGE(get_user_request, user_id);
PIXHIVE_IDEMPOTENT(get_user_request);
PIXHIVE_MESSAGE(get_profile_request, username);
PIXHIVE_IDEMPOTENT(get_profile_request);
PIXHIVE_MESSAGE(update_profile_request, user_id, set_display_name, display_name, set_bio, bio);
PIXHIVE_MESSAGE(list_users_request, after_id, limit);
PIXHIVE_IDEMPOTENT(list_users_request);
PIXHIVE_MESSAGE(user_page, users, next_after_id);
PIXHIVE_MESSAGE(set_disabled_request, user_id, disabled);
PIXHIVE_MESSAGE(create_user_request, username, email, password, admin, verified);
/// The auth service as a typed actor: one request type, one reply type per operation.
/// Failures are `caf::error`s made with pixhive::make_error.
using auth_actor = caf::typed_actor<
    caf::replies_to<signup_request>::with<user_view>,
    caf::replies_to<verify_request>::with<user_view>, caf::replies_to<resend_request>::with<done>,
    caf::replies_to<login_request>::with<session_tokens>,
    caf::replies_to<refresh_request>::with<session_tokens>,
    caf::replies_to<logout_request>::with<done>, caf::replies_to<logout_all_request>::with<done>,
    caf::replies_to<change_password_request>::with<session_tokens>,
    caf::replies_to<request_reset_request>::with<done>,
    caf::replies_to<reset_password_request>::with<done>,
    caf::replies_to<get_user_request>::with<user_view>,
    caf::replies_to<get_profile_request>::with<user_view>,
    caf::replies_to<update_profile_request>::with<user_view>,
    caf::replies_to<list_users_request>::with<user_page>,
    caf::replies_to<users_by_ids_request>::with<user_page>,
    caf::replies_to<set_disabled_request>::with<user_view>,
    caf::replies_to<create_user_request>::with<user_view>,
    caf::replies_to<ping_request>::with<done>>;

}  // namespace pixhive::contracts
