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
      mail_(cfg.smtp_url, cfg.smtp_from, cfg.smtp_user, cfg.smtp_password,
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
    return announce(c, "user.created", u);
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

result<void> logic::announce(store::connection& c, const char* type, const user_view& user) {
  nlohmann::json event{{"user_id", std::to_string(user.id)},
                       {"username", user.username},
                       {"display_name", user.display_name},
                       {"disabled", user.disabled},
                       {"created_at", user.created_at}};
  return outbox_->add(c, type, event.dump());
}

result<void> logic::issue_code(const user_view& user) {
  auto code = crypto::random_digits(6);
  auto now = unix_now();
  auto stored = db_->transaction([&](store::connection& c) -> result<void> {
    // A new code keeps the wrong guesses made against the old one: otherwise asking for a new
    // code every five guesses would allow unlimited guessing.
    auto old =
        c.query("SELECT attempts, issued_at FROM verification_codes WHERE user_id = ?", {user.id});
    if (!old) return old.error();
    // ... within an hour of the first code: five guesses an hour cannot find a 6-digit code.
    auto since = old->empty() ? attempt_window : now - old->front().int_at(1);
    int64_t attempts = since >= attempt_window ? 0 : old->front().int_at(0);
    if (since < cfg_.resend_interval.count())
      return make_error(errc::too_many_requests, "resend_too_soon",
                        "a code was sent moments ago; wait before asking again",
                        cfg_.resend_interval.count() - since);
    if (auto r = c.query("DELETE FROM verification_codes WHERE user_id = ?", {user.id}); !r)
      return r.error();
    if (auto r = c.query("INSERT INTO verification_codes (user_id, code_hash, expires_at, "
                         "attempts, issued_at) VALUES (?, ?, ?, ?, ?)",
                         {user.id, crypto::sha256_hex(std::to_string(user.id) + ":" + code),
                          now + code_ttl, attempts, now});
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

result<user_view> logic::signup(const signup_request& req) {
  auto user = insert_user(req.username, req.email, req.password, "user", false);
  if (!user) return user.error();
  auth_metrics::get().signups.Increment();
  log::info("user_signed_up", {{"user_id", user->id}, {"username", user->username}});
  if (auto r = issue_code(*user); !r) return r.error();
  return user;
}

result<user_view> logic::create_user(const create_user_request& req) {
  auto user = insert_user(req.username, req.email, req.password, req.admin ? "admin" : "user",
                          req.verified);
  if (!user) return user.error();
  log::info("user_created",
            {{"user_id", user->id}, {"username", user->username}, {"role", user->role}});
  if (!req.verified)
    if (auto r = issue_code(*user); !r) return r.error();
  return user;
}

result<user_view> logic::verify(const verify_request& req) {
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

result<done> logic::resend(const resend_request& req) {
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

result<session_tokens> logic::issue_tokens(const user_view& user) {
  auto now = unix_now();
  jwt::claims claims{user.id, user.username, user.role, now, now + cfg_.access_ttl.count()};
  auto refresh = crypto::random_token(32);
  auto r = db_->query(
      "INSERT INTO refresh_tokens (token_hash, user_id, expires_at, created_at) VALUES (?, ?, ?, "
      "?)",
      {crypto::sha256_hex(refresh), user.id, now + cfg_.refresh_ttl.count(), now});
  if (!r) return r.error();
  return session_tokens{jwt::sign(claims, cfg_.jwt_key), refresh, cfg_.access_ttl.count(), user};
}

result<session_tokens> logic::login(const login_request& req) {
  auto& stats = auth_metrics::get();
  auto key = lower(req.login);
  auto now = unix_now();
  // Per (account, address) first; the account-wide ceiling is higher, so one stranger's
  // guesses lock out only the stranger.
  auto failures = db_->query(
      "SELECT COUNT(*), MIN(at), COALESCE(SUM(CASE WHEN ip = ? THEN 1 ELSE 0 END), 0), "
      "MIN(CASE WHEN ip = ? THEN at END) FROM login_failures WHERE login = ? AND at > ?",
      {req.client_ip, req.client_ip, key, now - failure_window});
  if (!failures) return failures.error();
  if (!failures->empty()) {
    const auto& f = failures->front();
    bool from_here = f.int_at(2) >= cfg_.login_failures_per_ip;
    if (from_here || f.int_at(0) >= cfg_.login_failures_per_account) {
      stats.login("throttled");
      auto first = from_here ? f.int_at(3) : f.int_at(1);
      auto retry = std::max<int64_t>(1, first + failure_window - now);
      return make_error(errc::too_many_requests, "too_many_attempts",
                        "too many failed logins: try again later", retry);
    }
  }
  auto rows = db_->query(std::string("SELECT ") + user_columns +
                             ", password_hash FROM users WHERE username = ? OR email = ?",
                         {key, key});
  if (!rows) return rows.error();
  bool found = !rows->empty();
  bool match =
      crypto::password_verify(found ? rows->front().str_at(9) : decoy_hash(), req.password);
  if (!found || !match) {
    stats.login("invalid_credentials");
    if (auto r = db_->query("INSERT INTO login_failures (login, ip, at) VALUES (?, ?, ?)",
                            {key, req.client_ip, now});
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
  (void)db_->query("DELETE FROM login_failures WHERE login = ? AND ip = ?", {key, req.client_ip});
  stats.login("success");
  log::info("user_logged_in", {{"user_id", user.id}});
  return issue_tokens(user);
}

result<session_tokens> logic::refresh(const refresh_request& req) {
  auto invalid_token = [] {
    return make_error(errc::unauthorized, "invalid_refresh_token",
                      "the refresh token is not valid");
  };
  // Deleting first makes rotation single-use even under concurrent refreshes of one token.
  auto taken =
      db_->query("DELETE FROM refresh_tokens WHERE token_hash = ? RETURNING user_id, expires_at",
                 {crypto::sha256_hex(req.refresh_token)});
  if (!taken) return taken.error();
  if (taken->empty() || taken->front().int_at(1) < unix_now()) return invalid_token();
  auto user = find_by_id(taken->front().int_at(0));
  if (!user) return invalid_token();
  if (user->disabled) return invalid_token();
  return issue_tokens(*user);
}

result<done> logic::logout(const logout_request& req) {
  auto r = db_->query("DELETE FROM refresh_tokens WHERE token_hash = ?",
                      {crypto::sha256_hex(req.refresh_token)});
  if (!r) return r.error();
  return done{};
}

result<user_view> logic::get_user(const get_user_request& req) {
  auto user = find_by_id(req.user_id);
  if (user && user->disabled)
    return make_error(errc::forbidden, "account_disabled", "this account is disabled");
  return user;
}

result<user_view> logic::get_profile(const get_profile_request& req) {
  auto rows = db_->query(
      std::string("SELECT ") + user_columns + " FROM users WHERE username = ? AND disabled = 0",
      {lower(req.username)});
  if (!rows) return rows.error();
  if (rows->empty()) return make_error(errc::not_found, "user_not_found", "no such user");
  return to_user(rows->front());
}

result<user_view> logic::update_profile(const update_profile_request& req) {
  auto user = get_user({req.user_id});
  if (!user) return user.error();
  if (req.set_display_name) user->display_name = req.display_name;
  if (req.set_bio) user->bio = req.bio;
  auto r = db_->transaction([&](store::connection& c) -> result<void> {
    if (auto u = c.query("UPDATE users SET display_name = ?, bio = ? WHERE id = ?",
                         {user->display_name, user->bio, user->id});
        !u)
      return u.error();
    return announce(c, "user.updated", *user);
  });
  if (!r) return r.error();
  outbox_->wake();
  return user;
}

result<user_page> logic::list_users(const list_users_request& req) {
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

result<user_page> logic::users_by_ids(const users_by_ids_request& req) {
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

result<user_view> logic::set_disabled(const set_disabled_request& req) {
  auto user = find_by_id(req.user_id);
  if (!user) return user.error();
  auto r = db_->transaction([&](store::connection& c) -> result<void> {
    if (auto u = c.query("UPDATE users SET disabled = ? WHERE id = ?",
                         {int64_t{req.disabled ? 1 : 0}, user->id});
        !u)
      return u.error();
    if (req.disabled)
      if (auto d = c.query("DELETE FROM refresh_tokens WHERE user_id = ?", {user->id}); !d)
        return d.error();
    auto changed = *user;
    changed.disabled = req.disabled;
    return announce(c, "user.updated", changed);
  });
  if (!r) return r.error();
  outbox_->wake();
  user->disabled = req.disabled;
  // Every replica of every service refuses the account's access tokens from now on.
  if (events_)
    events_->broadcast(http::revocation_list::topic,
                       http::revocation_list::message(user->id, req.disabled, unix_now()));
  log::info(req.disabled ? "user_disabled" : "user_enabled", {{"user_id", user->id}});
  return user;
}

result<done> logic::ping() {
  auto r = db_->query("SELECT 1");
  if (!r) return r.error();
  return done{};
}

}  // namespace pixhive::auth
