#include "auth_logic.hpp"

#include <algorithm>
#include <map>

#include "pixhive/core/crypto.hpp"
#include "pixhive/core/ids.hpp"
#include "pixhive/core/jwt.hpp"
#include "pixhive/core/log.hpp"
#include "pixhive/http/revocations.hpp"
#include "pixhive/metrics/metrics.hpp"

namespace pixhive::auth {

using namespace contracts;
using store::value;

namespace {

constexpr int64_t code_ttl = 24 * 3600;
constexpr int64_t max_code_attempts = 5;
constexpr int64_t failure_window = 15 * 60;
constexpr int64_t attempt_window = 3600;
constexpr int64_t reset_ttl = 30 * 60;

const char* user_columns =
    "id, username, email, display_name, bio, role, verified, disabled, created_at";

user_view to_user(const store::row& r) {
  return user_view{r.int_at(0), r.str_at(1),      r.str_at(2),      r.str_at(3), r.str_at(4),
                   r.str_at(5), r.int_at(6) != 0, r.int_at(7) != 0, r.int_at(8)};
}

caf::error invalid(std::string code, std::string message) {
  return make_error(errc::invalid_argument, std::move(code), std::move(message));
}

caf::error invalid_credentials() {
  return make_error(errc::unauthorized, "invalid_credentials", "wrong login or password");
}

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

struct auth_metrics {
  prometheus::Counter& signups;
  prometheus::Family<prometheus::Counter>& logins;
  static auth_metrics& get() {
    static auth_metrics m{prometheus::BuildCounter()
                              .Name("pixhive_auth_signups_total")
                              .Help("Accounts created through signup")
                              .Register(metrics::registry())
                              .Add({}),
                          prometheus::BuildCounter()
                              .Name("pixhive_auth_logins_total")
                              .Help("Login attempts by result")
                              .Register(metrics::registry())};
    return m;
  }
  void login(const char* result) { logins.Add({{"result", result}}).Increment(); }
};

// A real argon2id hash of a random password: verifying unknown logins against it keeps their
// answer as slow as a wrong password, so timing does not reveal which accounts exist.
const std::string& decoy_hash() {
  static const std::string h = crypto::password_hash(crypto::random_token(16)).value_or("");
  return h;
}

}  // namespace

result<std::string> normalize_username(const std::string& raw) {
  auto name = lower(raw);
  if (name.size() < 3 || name.size() > 30)
    return invalid("invalid_username", "username must be 3 to 30 characters long");
  for (char c : name)
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '.'))
      return invalid("invalid_username", "username may contain only a-z, 0-9, '_' and '.'");
  return name;
}

result<std::string> normalize_email(const std::string& raw) {
  auto email = lower(raw);
  auto at = email.find('@');
  bool ok = email.size() <= 254 && at != std::string::npos && at > 0 &&
            email.find('@', at + 1) == std::string::npos;
  if (ok) {
    auto domain = email.substr(at + 1);
    auto dot = domain.find('.');
    ok = dot != std::string::npos && dot > 0 && domain.back() != '.';
  }
  for (unsigned char c : email)
    if (c <= ' ' || c == 0x7f || c == '<' || c == '>' || c == '"' || c == ',') ok = false;
  if (!ok) return invalid("invalid_email", "email must be an address like name@example.com");
  return email;
}

result<void> check_password(const std::string& password) {
  size_t code_points = 0;
  for (unsigned char c : password)
    if ((c & 0xC0) != 0x80) ++code_points;
  if (code_points < 8)
    return invalid("weak_password", "password must be at least 8 characters long");
  if (password.size() > 1024)
    return invalid("invalid_password", "password must be at most 1024 bytes");
  return caf::unit;
}

logic::logic(std::shared_ptr<store::database> db, std::shared_ptr<bus::event_bus> events,
             const auth_config& cfg)
    : db_(std::move(db)),
      events_(std::move(events)),
      outbox_(std::make_shared<bus::outbox>("auth", db_, events_)),
      cfg_(cfg),
      mail_(cfg.smtp_url, cfg.smtp_from, cfg.smtp_user, cfg.smtp_password, cfg.smtp_require_tls,
            cfg.data_dir + "/outbox") {
  auth_metrics::get();
}

result<user_view> logic::find_by_id(int64_t id) {
  auto rows = db_->query(std::string("SELECT ") + user_columns + " FROM users WHERE id = ?", {id});
  if (!rows) return rows.error();
  if (rows->empty()) return make_error(errc::not_found, "user_not_found", "no such user");
  return to_user(rows->front());
}

result<user_view> logic::insert_user(const std::string& raw_username, const std::string& raw_email,
                                     const std::string& password, const std::string& role,
                                     bool verified) {
  auto username = normalize_username(raw_username);
  if (!username) return username.error();
  auto email = normalize_email(raw_email);
  if (!email) return email.error();
  if (auto ok = check_password(password); !ok) return ok.error();
  if (auto r = expire_unverified(*username, *email); !r) return r.error();
  auto clash = db_->query("SELECT username, email FROM users WHERE username = ? OR email = ?",
                          {*username, *email});
  if (!clash) return clash.error();
  for (const auto& r : *clash) {
    if (r.str_at(0) == *username)
      return make_error(errc::conflict, "username_taken", "that username is already taken");
    return make_error(errc::conflict, "email_taken", "that email address is already registered");
  }
  auto hash = crypto::password_hash(password);
  if (!hash) return make_error(errc::internal, "internal", "password hashing failed");
  user_view u{next_id(), *username, *email, "", "", role, verified, false, unix_now()};
  auto inserted = db_->transaction([&](store::connection& c) -> result<void> {
    auto r = c.query(
        "INSERT INTO users (id, username, email, password_hash, display_name, bio, role, "
        "verified, disabled, created_at) VALUES (?, ?, ?, ?, '', '', ?, ?, 0, ?)",
        {u.id, u.username, u.email, *hash, u.role, int64_t{verified ? 1 : 0}, u.created_at});
    if (!r) return r.error();
    return announce(c, events::user_created, u);
  });
  if (!inserted) {
    // Lost a race with a concurrent signup for the same name or address.
    if (to_problem(inserted.error()).kind == errc::conflict)
      return make_error(errc::conflict, "username_taken",
                        "that username or email is already taken");
    return inserted.error();
  }
  outbox_->wake();
  return u;
}

result<void> logic::announce(store::connection& c, const event_type<user_changed>& type,
                             const user_view& user) {
  return outbox_->add(c, type,
                      {user.id, user.username, user.display_name, user.disabled, user.created_at});
}

result<void> logic::expire_unverified(const std::string& username, const std::string& email) {
  auto cutoff = unix_now() - cfg_.unverified_ttl.count();
  auto r = db_->transaction([&](store::connection& c) -> result<int> {
    auto old = c.query(std::string("SELECT ") + user_columns +
                           " FROM users WHERE verified = 0 AND created_at < ? AND (username = ? "
                           "OR email = ?)",
                       {cutoff, username, email});
    if (!old) return old.error();
    for (const auto& row : *old) {
      auto u = to_user(row);
      // Search and the other services forget the name through the same event as a disable.
      u.disabled = true;
      if (auto a = announce(c, events::user_updated, u); !a) return a.error();
      for (const char* sql :
           {"DELETE FROM verification_codes WHERE user_id = ?",
            "DELETE FROM refresh_tokens WHERE user_id = ?",
            "DELETE FROM password_resets WHERE user_id = ?", "DELETE FROM users WHERE id = ?"})
        if (auto d = c.query(sql, {u.id}); !d) return d.error();
      log::info("unverified_account_expired", {{"user_id", u.id}});
    }
    return static_cast<int>(old->size());
  });
  if (!r) return r.error();
  if (*r) outbox_->wake();
  return caf::unit;
}

result<void> logic::issue_code(const user_view& user) {
  auto now = unix_now();
  auto code = crypto::random_digits(6);
  auto stored = db_->transaction([&](store::connection& c) -> result<void> {
    // A new code keeps the wrong guesses made against the old one: otherwise asking for a new
    // code every five guesses would allow unlimited guessing.
    auto old = c.query(
        "SELECT attempts, issued_at, code, expires_at FROM verification_codes WHERE user_id = ?",
        {user.id});
    if (!old) return old.error();
    // ... within an hour of the first code: five guesses an hour cannot find a 6-digit code.
    auto since = old->empty() ? attempt_window : now - old->front().int_at(1);
    int64_t attempts = since >= attempt_window ? 0 : old->front().int_at(0);
    if (since < cfg_.resend_interval.count())
      return make_error(errc::too_many_requests, "resend_too_soon",
                        "a code was sent moments ago; wait before asking again",
                        cfg_.resend_interval.count() - since);
    // The pending code, while valid, is sent again rather than replaced.
    if (!old->empty() && !old->front().str_at(2).empty() && old->front().int_at(3) > now) {
      code = old->front().str_at(2);
      auto r =
          c.query("UPDATE verification_codes SET issued_at = ? WHERE user_id = ?", {now, user.id});
      if (!r) return r.error();
      return caf::unit;
    }
    if (auto r = c.query("DELETE FROM verification_codes WHERE user_id = ?", {user.id}); !r)
      return r.error();
    if (auto r = c.query("INSERT INTO verification_codes (user_id, code_hash, expires_at, "
                         "attempts, issued_at, code) VALUES (?, ?, ?, ?, ?, ?)",
                         {user.id, crypto::sha256_hex(std::to_string(user.id) + ":" + code),
                          now + code_ttl, attempts, now, code});
        !r)
      return r.error();
    return caf::unit;
  });
  if (!stored) return stored.error();
  auto sent = mail_.send(user.email, "Your PixHive verification code: " + code,
                         "Hello " + user.username + ",\r\n\r\nyour PixHive verification code is " +
                             code + "\r\n\r\nIt is valid for 24 hours.\r\n");
  if (!sent)
    log::error("verification_mail_failed",
               {{"user_id", user.id}, {"error", to_problem(sent.error()).message}});
  return caf::unit;
}

result<user_view> logic::handle(const signup_request& req) {
  auto user = insert_user(req.username, req.email, req.password, "user", false);
  if (!user && to_problem(user.error()).code == "email_taken") {
    // The answer must not tell a stranger that the address has an account: the signup looks
    // like any other (after the same password hashing), and the address's owner gets a mail.
    (void)crypto::password_hash(req.password);
    auto email = normalize_email(req.email);
    auto name = normalize_username(req.username);
    auto sent = mail_.send(
        *email, "Someone tried to sign up for PixHive with your address",
        "Hello,\r\n\r\nsomeone tried to create a PixHive account with this address, which "
        "already has one. If it was you, log in (or ask for a new password at " +
            cfg_.public_url + "/forgot). If not, you can ignore this mail.\r\n");
    if (!sent) log::error("signup_notice_failed", {{"error", to_problem(sent.error()).message}});
    log::info("signup_with_known_email", {});
    return user_view{next_id(), *name, *email, "", "", "user", false, false, unix_now()};
  }
  if (!user) return user.error();
  auth_metrics::get().signups.Increment();
  log::info("user_signed_up", {{"user_id", user->id}, {"username", user->username}});
  if (auto r = issue_code(*user); !r) return r.error();
  return user;
}

result<user_view> logic::handle(const create_user_request& req) {
  auto user = insert_user(req.username, req.email, req.password, req.admin ? "admin" : "user",
                          req.verified);
  if (!user) return user.error();
  log::info("user_created",
            {{"user_id", user->id}, {"username", user->username}, {"role", user->role}});
  if (!req.verified)
    if (auto r = issue_code(*user); !r) return r.error();
  return user;
}

result<user_view> logic::handle(const verify_request& req) {
  auto bad_code = [] { return invalid("invalid_code", "the verification code is wrong"); };
  auto rows = db_->query(std::string("SELECT ") + user_columns + " FROM users WHERE username = ?",
                         {lower(req.username)});
  if (!rows) return rows.error();
  if (rows->empty()) return bad_code();
  auto user = to_user(rows->front());
  // A verified account answers like an unknown one: a wrong code must not reveal the account,
  // let alone return its private record.
  if (user.verified) return bad_code();
  auto outcome = db_->transaction([&](store::connection& c) -> result<user_view> {
    auto code =
        c.query("SELECT code_hash, expires_at, attempts FROM verification_codes WHERE user_id = ?",
                {user.id});
    if (!code) return code.error();
    if (code->empty()) return invalid("no_pending_code", "no code is pending: request a new one");
    const auto& r = code->front();
    if (r.int_at(1) < unix_now())
      return invalid("code_expired", "the code has expired: request a new one");
    if (r.int_at(2) >= max_code_attempts)
      return make_error(errc::too_many_requests, "too_many_attempts",
                        "too many wrong codes: request a new code in an hour");
    auto want = crypto::sha256_hex(std::to_string(user.id) + ":" + req.code);
    if (!crypto::constant_time_equal(want, r.str_at(0))) {
      if (auto u = c.query(
              "UPDATE verification_codes SET attempts = attempts + 1 WHERE user_id = ?", {user.id});
          !u)
        return u.error();
      // The attempt is counted even though the request fails, so commit it by returning a value
      // that the caller turns into the error below.
      return user_view{};
    }
    if (auto u = c.query("UPDATE users SET verified = 1 WHERE id = ?", {user.id}); !u)
      return u.error();
    if (auto d = c.query("DELETE FROM verification_codes WHERE user_id = ?", {user.id}); !d)
      return d.error();
    user.verified = true;
    return user;
  });
  if (!outcome) return outcome.error();
  if (outcome->id == 0) return bad_code();
  log::info("user_verified", {{"user_id", outcome->id}});
  return outcome;
}

result<done> logic::handle(const resend_request& req) {
  auto rows = db_->query(std::string("SELECT ") + user_columns + " FROM users WHERE username = ?",
                         {lower(req.username)});
  if (!rows) return rows.error();
  // The same answer whether or not the account exists, so this cannot probe for accounts.
  if (rows->empty()) return done{};
  auto user = to_user(rows->front());
  if (user.verified || user.disabled) return done{};
  if (auto r = issue_code(user); !r) {
    // Too soon for this account: answered like any other request, so as not to reveal it.
    if (to_problem(r.error()).code == "resend_too_soon") return done{};
    return r.error();
  }
  return done{};
}

result<session_tokens> logic::issue_tokens(const user_view& user, std::string family,
                                           int64_t expires_at, int64_t not_before_ms) {
  auto now = unix_now();
  jwt::claims claims{user.id,
                     user.username,
                     user.role,
                     now,
                     now + cfg_.access_ttl.count(),
                     std::max(unix_now_ms(), not_before_ms)};
  auto refresh = crypto::random_token(32);
  if (family.empty()) family = crypto::random_token(16);
  if (!expires_at) expires_at = now + cfg_.refresh_ttl.count();
  auto r = db_->query(
      "INSERT INTO refresh_tokens (token_hash, user_id, expires_at, created_at, family, used) "
      "VALUES (?, ?, ?, ?, ?, 0)",
      {crypto::sha256_hex(refresh), user.id, expires_at, now, family});
  if (!r) return r.error();
  return session_tokens{
      jwt::sign(claims, cfg_.jwt_key), refresh, cfg_.access_ttl.count(), user, {}};
}

std::string logic::device_token(int64_t user_id) const {
  auto nonce = crypto::random_token(12);
  return nonce + "." +
         crypto::base64url_encode(
             crypto::hmac_sha256(cfg_.jwt_key, "device:" + std::to_string(user_id) + ":" + nonce));
}

std::string logic::device_key(int64_t user_id, const std::string& token) const {
  auto dot = token.find('.');
  if (dot == std::string::npos || dot == 0) return {};
  auto nonce = token.substr(0, dot);
  auto want = crypto::base64url_encode(
      crypto::hmac_sha256(cfg_.jwt_key, "device:" + std::to_string(user_id) + ":" + nonce));
  if (!crypto::constant_time_equal(want, token.substr(dot + 1))) return {};
  return "device:" + nonce;
}

result<session_tokens> logic::handle(const login_request& req) {
  auto& stats = auth_metrics::get();
  auto key = lower(req.login);
  auto now = unix_now();
  auto rows = db_->query(std::string("SELECT ") + user_columns +
                             ", password_hash FROM users WHERE username = ? OR email = ?",
                         {key, key});
  if (!rows) return rows.error();
  bool found = !rows->empty();
  // A device this account logged in from before is throttled on its own: strangers' guesses
  // from any number of addresses cannot lock the owner out of it. Any other attempt counts
  // against its address (an IPv6 /64) and against the account as a whole, which bounds guessing
  // at login-failures-per-account per 15 minutes whatever the number of addresses.
  auto device = found ? device_key(rows->front().int_at(0), req.device_token) : std::string();
  const auto& source = device.empty() ? req.client_ip : device;
  auto failures = db_->query(
      "SELECT COALESCE(SUM(CASE WHEN ip NOT LIKE 'device:%' THEN 1 ELSE 0 END), 0), "
      "MIN(CASE WHEN ip NOT LIKE 'device:%' THEN at END), "
      "COALESCE(SUM(CASE WHEN ip = ? THEN 1 ELSE 0 END), 0), MIN(CASE WHEN ip = ? THEN at END) "
      "FROM login_failures WHERE login = ? AND at > ?",
      {source, source, key, now - failure_window});
  if (!failures) return failures.error();
  if (!failures->empty()) {
    const auto& f = failures->front();
    bool from_here = f.int_at(2) >= cfg_.login_failures_per_ip;
    bool account_wide = device.empty() && f.int_at(0) >= cfg_.login_failures_per_account;
    if (from_here || account_wide) {
      stats.login("throttled");
      auto first = from_here ? f.int_at(3) : f.int_at(1);
      auto retry = std::max<int64_t>(1, first + failure_window - now);
      return make_error(errc::too_many_requests, "too_many_attempts",
                        "too many failed logins: try again later", retry);
    }
  }
  bool match =
      crypto::password_verify(found ? rows->front().str_at(9) : decoy_hash(), req.password);
  if (!found || !match) {
    stats.login("invalid_credentials");
    if (auto r = db_->query("INSERT INTO login_failures (login, ip, at) VALUES (?, ?, ?)",
                            {key, source, now});
        !r)
      return r.error();
    (void)db_->query("DELETE FROM login_failures WHERE at < ?", {now - failure_window});
    return invalid_credentials();
  }
  auto user = to_user(rows->front());
  if (user.disabled) {
    stats.login("disabled");
    return make_error(errc::forbidden, "account_disabled", "this account is disabled");
  }
  if (!user.verified) {
    stats.login("unverified");
    return make_error(errc::forbidden, "email_not_verified",
                      "verify your email address first (see POST /api/v1/auth/verify)");
  }
  (void)db_->query("DELETE FROM login_failures WHERE login = ? AND ip = ?", {key, source});
  (void)db_->query("DELETE FROM refresh_tokens WHERE user_id = ? AND expires_at < ?",
                   {user.id, now});
  stats.login("success");
  log::info("user_logged_in", {{"user_id", user.id}});
  auto session = issue_tokens(user);
  if (session) session->device_token = device_token(user.id);
  return session;
}

result<session_tokens> logic::handle(const refresh_request& req) {
  auto invalid_token = [] {
    return make_error(errc::unauthorized, "invalid_refresh_token",
                      "the refresh token is not valid");
  };
  // A refresh token is used once. Presenting a used one means two parties hold it (the owner
  // and a thief): the whole family it belongs to ends (OAuth 2.0 Security BCP, reuse detection).
  // The family keeps the first login's expiry, so refreshing never extends a stolen session.
  struct outcome {
    int64_t user_id = 0;
    int64_t expires_at = 0;
    std::string family;
    bool reused = false;
  };
  auto hash = crypto::sha256_hex(req.refresh_token);
  auto taken = db_->transaction([&](store::connection& c) -> result<outcome> {
    auto row =
        c.query("SELECT user_id, expires_at, family, used FROM refresh_tokens WHERE token_hash = ?",
                {hash});
    if (!row) return row.error();
    if (row->empty()) return outcome{};
    outcome o{row->front().int_at(0), row->front().int_at(1), row->front().str_at(2), false};
    // Marking it used is the compare-and-set that keeps two concurrent refreshes from both
    // winning: the loser sees a used token.
    auto mark = c.query(
        "UPDATE refresh_tokens SET used = 1 WHERE token_hash = ? AND used = 0 "
        "RETURNING user_id",
        {hash});
    if (!mark) return mark.error();
    if (mark->empty()) {
      o.reused = true;
      if (auto d = c.query("DELETE FROM refresh_tokens WHERE family = ?", {o.family}); !d)
        return d.error();
    }
    return o;
  });
  if (!taken) return taken.error();
  if (taken->reused) {
    auth_metrics::get().login("refresh_reused");
    log::warn("refresh_token_reused", {{"user_id", taken->user_id}});
    return invalid_token();
  }
  if (!taken->user_id || taken->expires_at < unix_now()) return invalid_token();
  auto user = find_by_id(taken->user_id);
  if (!user) return invalid_token();
  if (user->disabled) return invalid_token();
  return issue_tokens(*user, taken->family, taken->expires_at);
}

result<done> logic::handle(const logout_request& req) {
  // The whole family: an older token of the session must not outlive the logout either.
  auto r = db_->query(
      "DELETE FROM refresh_tokens WHERE family IN (SELECT family FROM refresh_tokens WHERE "
      "token_hash = ?)",
      {crypto::sha256_hex(req.refresh_token)});
  if (!r) return r.error();
  return done{};
}

result<int64_t> logic::end_sessions(int64_t user_id) {
  if (auto d = db_->query("DELETE FROM refresh_tokens WHERE user_id = ?", {user_id}); !d)
    return d.error();
  auto at = unix_now_ms();
  // Every replica of every service refuses the tokens issued up to now.
  if (events_)
    events_->broadcast(http::revocation_list::topic, http::revocation_list::message(user_id, at));
  return at;
}

result<done> logic::handle(const logout_all_request& req) {
  auto at = end_sessions(req.user_id);
  if (!at) return at.error();
  log::info("user_logged_out_everywhere", {{"user_id", req.user_id}});
  return done{};
}

result<session_tokens> logic::handle(const change_password_request& req) {
  auto rows = db_->query(std::string("SELECT ") + user_columns +
                             ", password_hash FROM users WHERE id = ? AND disabled = 0",
                         {req.user_id});
  if (!rows) return rows.error();
  if (rows->empty()) return make_error(errc::not_found, "user_not_found", "no such user");
  auto user = to_user(rows->front());
  // Guesses at the current password with a stolen access token are throttled like logins.
  const std::string source = "password-change";
  auto now = unix_now();
  auto failures = db_->query(
      "SELECT COUNT(*), MIN(at) FROM login_failures WHERE login = ? AND ip = ? AND at > ?",
      {user.username, source, now - failure_window});
  if (!failures) return failures.error();
  if (failures->front().int_at(0) >= cfg_.login_failures_per_ip)
    return make_error(errc::too_many_requests, "too_many_attempts",
                      "too many wrong passwords: try again later",
                      std::max<int64_t>(1, failures->front().int_at(1) + failure_window - now));
  if (!crypto::password_verify(rows->front().str_at(9), req.current_password)) {
    (void)db_->query("INSERT INTO login_failures (login, ip, at) VALUES (?, ?, ?)",
                     {user.username, source, now});
    return make_error(errc::forbidden, "wrong_password", "the current password is wrong");
  }
  if (auto ok = check_password(req.new_password); !ok) return ok.error();
  auto hash = crypto::password_hash(req.new_password);
  if (!hash) return make_error(errc::internal, "internal", "password hashing failed");
  if (auto u = db_->query("UPDATE users SET password_hash = ? WHERE id = ?", {*hash, user.id}); !u)
    return u.error();
  auto at = end_sessions(user.id);
  if (!at) return at.error();
  log::info("password_changed", {{"user_id", user.id}});
  // The caller's own new session starts after the revocation, so it survives it.
  return issue_tokens(user, {}, 0, *at + 1);
}

result<done> logic::handle(const request_reset_request& req) {
  // The same answer whatever happens, so this cannot probe for accounts; the per-client limit is
  // the route's ("reset"), the per-address one is here: three mails an hour.
  auto email = normalize_email(req.email);
  if (!email) return done{};
  auto rows = db_->query(std::string("SELECT ") + user_columns +
                             " FROM users WHERE email = ? AND verified = 1 AND disabled = 0",
                         {*email});
  if (!rows) return rows.error();
  if (rows->empty()) return done{};
  auto user = to_user(rows->front());
  auto now = unix_now();
  auto recent =
      db_->query("SELECT COUNT(*) FROM password_resets WHERE user_id = ? AND created_at > ?",
                 {user.id, now - 3600});
  if (!recent) return recent.error();
  if (recent->front().int_at(0) >= 3) {
    log::info("password_reset_throttled", {{"user_id", user.id}});
    return done{};
  }
  auto token = crypto::random_token(32);
  if (auto r = db_->query("INSERT INTO password_resets (token_hash, user_id, expires_at, "
                          "created_at) VALUES (?, ?, ?, ?)",
                          {crypto::sha256_hex(token), user.id, now + reset_ttl, now});
      !r)
    return r.error();
  // The token rides in the fragment: browsers never send it to a server, so no access log or
  // proxy sees it.
  auto sent =
      mail_.send(user.email, "Reset your PixHive password",
                 "Hello " + user.username + ",\r\n\r\nto choose a new password, open\r\n\r\n" +
                     cfg_.public_url + "/reset#token=" + token +
                     "\r\n\r\nThe link works once, for 30 minutes. If you did not ask "
                     "for it, ignore this mail: your password stays as it is.\r\n");
  if (!sent)
    log::error("reset_mail_failed",
               {{"user_id", user.id}, {"error", to_problem(sent.error()).message}});
  log::info("password_reset_requested", {{"user_id", user.id}});
  return done{};
}

result<done> logic::handle(const reset_password_request& req) {
  auto invalid_token = [] {
    return make_error(errc::invalid_argument, "invalid_reset_token",
                      "the reset link is not valid or has expired: ask for a new one");
  };
  if (auto ok = check_password(req.new_password); !ok) return ok.error();
  // Single use: spent before anything else, so two concurrent uses cannot both succeed. Spent
  // rows stay until they are an hour old: they count against the mails per hour.
  auto taken = db_->query(
      "UPDATE password_resets SET expires_at = 0 WHERE token_hash = ? AND expires_at >= ? "
      "RETURNING user_id",
      {crypto::sha256_hex(req.token), unix_now()});
  if (!taken) return taken.error();
  if (taken->empty()) return invalid_token();
  auto user_id = taken->front().int_at(0);
  auto hash = crypto::password_hash(req.new_password);
  if (!hash) return make_error(errc::internal, "internal", "password hashing failed");
  auto u = db_->query(
      "UPDATE users SET password_hash = ? WHERE id = ? AND disabled = 0 "
      "RETURNING id",
      {*hash, user_id});
  if (!u) return u.error();
  if (u->empty()) return invalid_token();
  // Every other reset link of the account dies with this one, and so does every session.
  (void)db_->query("UPDATE password_resets SET expires_at = 0 WHERE user_id = ?", {user_id});
  (void)db_->query("DELETE FROM password_resets WHERE created_at < ?", {unix_now() - 3600});
  if (auto at = end_sessions(user_id); !at) return at.error();
  log::info("password_reset", {{"user_id", user_id}});
  return done{};
}

result<user_view> logic::handle(const get_user_request& req) {
  auto user = find_by_id(req.user_id);
  if (user && user->disabled)
    return make_error(errc::forbidden, "account_disabled", "this account is disabled");
  return user;
}

result<user_view> logic::handle(const get_profile_request& req) {
  auto rows = db_->query(
      std::string("SELECT ") + user_columns + " FROM users WHERE username = ? AND disabled = 0",
      {lower(req.username)});
  if (!rows) return rows.error();
  if (rows->empty()) return make_error(errc::not_found, "user_not_found", "no such user");
  return to_user(rows->front());
}

result<user_view> logic::handle(const update_profile_request& req) {
  auto user = handle(get_user_request{req.user_id});
  if (!user) return user.error();
  if (req.set_display_name) user->display_name = req.display_name;
  if (req.set_bio) user->bio = req.bio;
  auto r = db_->transaction([&](store::connection& c) -> result<void> {
    if (auto u = c.query("UPDATE users SET display_name = ?, bio = ? WHERE id = ?",
                         {user->display_name, user->bio, user->id});
        !u)
      return u.error();
    return announce(c, events::user_updated, *user);
  });
  if (!r) return r.error();
  outbox_->wake();
  return user;
}

result<user_page> logic::handle(const list_users_request& req) {
  auto limit = std::clamp<int32_t>(req.limit, 1, 100);
  auto rows = db_->query(
      std::string("SELECT ") + user_columns + " FROM users WHERE id > ? ORDER BY id LIMIT ?",
      {req.after_id, int64_t{limit + 1}});
  if (!rows) return rows.error();
  user_page page;
  for (size_t i = 0; i < rows->size() && i < static_cast<size_t>(limit); ++i)
    page.users.push_back(to_user((*rows)[i]));
  if (rows->size() > static_cast<size_t>(limit)) page.next_after_id = page.users.back().id;
  return page;
}

result<user_page> logic::handle(const users_by_ids_request& req) {
  user_page page;
  if (req.ids.empty()) return page;
  if (req.ids.size() > 500)
    return make_error(errc::invalid_argument, "too_many_ids", "at most 500 users per request");
  auto rows = db_->query(std::string("SELECT ") + user_columns + " FROM users WHERE id IN (" +
                             store::placeholders(req.ids.size()) + ")",
                         {req.ids.begin(), req.ids.end()});
  if (!rows) return rows.error();
  std::map<int64_t, user_view> found;
  for (auto& r : *rows) {
    auto u = to_user(r);
    found.emplace(u.id, std::move(u));
  }
  for (auto id : req.ids)
    if (auto it = found.find(id); it != found.end()) page.users.push_back(it->second);
  return page;
}

result<user_view> logic::handle(const set_disabled_request& req) {
  auto user = find_by_id(req.user_id);
  if (!user) return user.error();
  auto r = db_->transaction([&](store::connection& c) -> result<void> {
    if (auto u = c.query("UPDATE users SET disabled = ? WHERE id = ?",
                         {int64_t{req.disabled ? 1 : 0}, user->id});
        !u)
      return u.error();
    auto changed = *user;
    changed.disabled = req.disabled;
    return announce(c, events::user_updated, changed);
  });
  if (!r) return r.error();
  outbox_->wake();
  user->disabled = req.disabled;
  // Tokens issued before a disable stay refused after the account is enabled again.
  if (req.disabled)
    if (auto at = end_sessions(user->id); !at) return at.error();
  log::info(req.disabled ? "user_disabled" : "user_enabled", {{"user_id", user->id}});
  return user;
}

result<done> logic::handle(const ping_request&) {
  auto r = db_->query("SELECT 1");
  if (!r) return r.error();
  return done{};
}

}  // namespace pixhive::auth
