#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <caf/actor_system_config.hpp>
#include <caf/meta/type_name.hpp>
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

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, users_by_ids_request& x) {
  return f(caf::meta::type_name("users_by_ids_request"), x.ids);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, user_view& x) {
  return f(caf::meta::type_name("user_view"), x.id, x.username, x.email, x.display_name, x.bio,
           x.role, x.verified, x.disabled, x.created_at);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, signup_request& x) {
  return f(caf::meta::type_name("signup_request"), x.username, x.email, x.password);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, verify_request& x) {
  return f(caf::meta::type_name("verify_request"), x.username, x.code);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, resend_request& x) {
  return f(caf::meta::type_name("resend_request"), x.username);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, login_request& x) {
  return f(caf::meta::type_name("login_request"), x.login, x.password, x.client_ip, x.device_token);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, refresh_request& x) {
  return f(caf::meta::type_name("refresh_request"), x.refresh_token);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, logout_request& x) {
  return f(caf::meta::type_name("logout_request"), x.refresh_token);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, logout_all_request& x) {
  return f(caf::meta::type_name("logout_all_request"), x.user_id);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, change_password_request& x) {
  return f(caf::meta::type_name("change_password_request"), x.user_id, x.current_password,
           x.new_password);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, request_reset_request& x) {
  return f(caf::meta::type_name("request_reset_request"), x.email, x.client_ip);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, reset_password_request& x) {
  return f(caf::meta::type_name("reset_password_request"), x.token, x.new_password);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, session_tokens& x) {
  return f(caf::meta::type_name("session_tokens"), x.access_token, x.refresh_token, x.expires_in,
           x.user, x.device_token);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, get_user_request& x) {
  return f(caf::meta::type_name("get_user_request"), x.user_id);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, get_profile_request& x) {
  return f(caf::meta::type_name("get_profile_request"), x.username);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, update_profile_request& x) {
  return f(caf::meta::type_name("update_profile_request"), x.user_id, x.set_display_name,
           x.display_name, x.set_bio, x.bio);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, list_users_request& x) {
  return f(caf::meta::type_name("list_users_request"), x.after_id, x.limit);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, user_page& x) {
  return f(caf::meta::type_name("user_page"), x.users, x.next_after_id);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, set_disabled_request& x) {
  return f(caf::meta::type_name("set_disabled_request"), x.user_id, x.disabled);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, create_user_request& x) {
  return f(caf::meta::type_name("create_user_request"), x.username, x.email, x.password, x.admin,
           x.verified);
}
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

/// Registers the auth message types with CAF (needed to send them across processes).
void add_auth_types(caf::actor_system_config& cfg);

}  // namespace pixhive::contracts
