// The auth REST API driven over real HTTP against a real `pixhive` process, once with SQLite and
// once with a PostgreSQL server started by the fixture.
#include <regex>

#include <gtest/gtest.h>

#include "pixhive/core/crypto.hpp"
#include "pixhive/core/ids.hpp"
#include "pixhive/core/jwt.hpp"
#include "pixhive/store/sql.hpp"
#include "support.hpp"

using namespace pixhive;
using namespace pixhive::testing;
using nlohmann::json;
using verb = bhttp::verb;

namespace {

const std::string password = "correct horse battery";

class auth_api : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    if (!stores_.start(GetParam())) PIXHIVE_SKIP_MISSING(stores_.why());
    server_ =
        stores_.server({"--auth-workers", "2", "--access-log", "false", "--resend-interval", "0s"});
  }

  uint16_t port() const { return server_->port(); }

  reply post(const std::string& target, const json& body, const std::string& token = {}) {
    return call(port(), verb::post, target, body, token);
  }

  reply get(const std::string& target, const std::string& token = {}) {
    return call(port(), verb::get, target, nullptr, token);
  }

  reply signup(const std::string& name, const std::string& email = {}) {
    return post("/api/v1/auth/signup", {{"username", name},
                                        {"email", email.empty() ? name + "@example.com" : email},
                                        {"password", password}});
  }

  /// Signs up and verifies `name`; returns the login response.
  json verified_login(const std::string& name) {
    auto s = signup(name);
    EXPECT_EQ(s.status, 201) << s.body;
    auto code = latest_code(server_->data_dir(), name + "@example.com");
    EXPECT_EQ(code.size(), 6u);
    auto v = post("/api/v1/auth/verify", {{"username", name}, {"code", code}});
    EXPECT_EQ(v.status, 200) << v.body;
    auto l = post("/api/v1/auth/login", {{"login", name}, {"password", password}});
    EXPECT_EQ(l.status, 200) << l.body;
    return l.json();
  }

  /// Runs `pixhive admin create-user` against the server's stores.
  int create_user_cli(const std::string& name, bool admin) {
    std::vector<std::string> argv{pixhive_binary(),      "admin",      "create-user", "--data-dir",
                                  server_->data_dir(),   "--username", name,          "--email",
                                  name + "@example.com", "--password", password};
    argv.insert(argv.end(), server_->args().begin(), server_->args().end());
    if (admin) argv.push_back("--admin");
    child_process cli{argv};
    auto rc = cli.wait_exit();
    EXPECT_TRUE(rc.has_value());
    if (rc != 0) ADD_FAILURE() << cli.output();
    return rc.value_or(-1);
  }

  backends stores_;
  std::unique_ptr<pixhive_server> server_;
};

}  // namespace

TEST_P(auth_api, signup_verify_login_and_profile) {
  auto s = signup("Alice");
  ASSERT_EQ(s.status, 201) << s.body;
  EXPECT_EQ(s.json()["username"], "alice");
  EXPECT_EQ(s.json()["verified"], false);
  EXPECT_FALSE(s.json().contains("password_hash"));

  auto unverified = post("/api/v1/auth/login", {{"login", "alice"}, {"password", password}});
  EXPECT_EQ(unverified.status, 403);
  EXPECT_EQ(unverified.error_code(), "email_not_verified");

  auto code = latest_code(server_->data_dir(), "alice@example.com");
  ASSERT_EQ(code.size(), 6u);
  auto v = post("/api/v1/auth/verify", {{"username", "alice"}, {"code", code}});
  ASSERT_EQ(v.status, 200) << v.body;
  EXPECT_EQ(v.json()["verified"], true);

  // Login by email works as well as by username, case-insensitively.
  auto l = post("/api/v1/auth/login", {{"login", "ALICE@example.com"}, {"password", password}});
  ASSERT_EQ(l.status, 200) << l.body;
  auto tokens = l.json();
  EXPECT_EQ(tokens["expires_in"], 900);
  EXPECT_EQ(tokens["token_type"], "Bearer");
  auto access = tokens["access_token"].get<std::string>();

  auto me = get("/api/v1/users/me", access);
  ASSERT_EQ(me.status, 200) << me.body;
  EXPECT_EQ(me.json()["email"], "alice@example.com");

  http_connection conn{port()};
  auto patched = conn.request(
      verb::patch, "/api/v1/users/me", json{{"display_name", "Alice A."}, {"bio", "hi"}}.dump(),
      {{"Content-Type", "application/json"}, {"Authorization", "Bearer " + access}});
  ASSERT_EQ(patched.status, 200) << patched.body;
  EXPECT_EQ(patched.json()["display_name"], "Alice A.");

  auto profile = get("/api/v1/users/alice");
  ASSERT_EQ(profile.status, 200);
  EXPECT_EQ(profile.json()["display_name"], "Alice A.");
  EXPECT_EQ(profile.json()["bio"], "hi");
  EXPECT_FALSE(profile.json().contains("email"));
  EXPECT_EQ(get("/api/v1/users/nobody").status, 404);
}

TEST_P(auth_api, refresh_rotates_and_logout_revokes) {
  auto tokens = verified_login("bob");
  auto r1 = tokens["refresh_token"].get<std::string>();
  auto refreshed = post("/api/v1/auth/refresh", {{"refresh_token", r1}});
  ASSERT_EQ(refreshed.status, 200) << refreshed.body;
  auto r2 = refreshed.json()["refresh_token"].get<std::string>();
  EXPECT_NE(r1, r2);
  EXPECT_EQ(get("/api/v1/users/me", refreshed.json()["access_token"]).status, 200);
  // The old token was used up by the rotation.
  auto reused = post("/api/v1/auth/refresh", {{"refresh_token", r1}});
  EXPECT_EQ(reused.status, 401);
  EXPECT_EQ(reused.error_code(), "invalid_refresh_token");
  EXPECT_EQ(post("/api/v1/auth/logout", {{"refresh_token", r2}}).status, 204);
  EXPECT_EQ(post("/api/v1/auth/refresh", {{"refresh_token", r2}}).status, 401);
}

TEST_P(auth_api, a_replayed_refresh_token_ends_its_whole_family) {
  auto tokens = verified_login("bert");
  auto r1 = tokens["refresh_token"].get<std::string>();
  auto refreshed = post("/api/v1/auth/refresh", {{"refresh_token", r1}});
  ASSERT_EQ(refreshed.status, 200) << refreshed.body;
  auto r2 = refreshed.json()["refresh_token"].get<std::string>();
  // A thief replays r1 (or the owner does, after the thief used it): both lose the session.
  EXPECT_EQ(post("/api/v1/auth/refresh", {{"refresh_token", r1}}).status, 401);
  EXPECT_EQ(post("/api/v1/auth/refresh", {{"refresh_token", r2}}).status, 401);
  // Another session of the same user (another family) is untouched.
  auto other = post("/api/v1/auth/login", {{"login", "bert"}, {"password", password}});
  ASSERT_EQ(other.status, 200);
  EXPECT_EQ(post("/api/v1/auth/refresh", {{"refresh_token", other.json()["refresh_token"]}}).status,
            200);
}

TEST_P(auth_api, refreshing_never_extends_a_session_past_its_first_login) {
  auto tokens = verified_login("bess");
  auto db = store::database::open(stores_.db_url(), 1);
  ASSERT_TRUE(db);
  auto expiry = [&] {
    auto r = (*db)->query("SELECT MAX(expires_at) FROM refresh_tokens WHERE used = 0");
    return r && !r->empty() ? r->front().int_at(0) : -1;
  };
  auto first = expiry();
  ASSERT_GT(first, 0);
  auto token = tokens["refresh_token"].get<std::string>();
  for (int i = 0; i < 3; ++i) {
    auto r = post("/api/v1/auth/refresh", {{"refresh_token", token}});
    ASSERT_EQ(r.status, 200) << r.body;
    token = r.json()["refresh_token"];
    EXPECT_EQ(expiry(), first);
  }
}

TEST_P(auth_api, logout_everywhere_ends_every_session) {
  auto a = verified_login("lola");
  auto b = post("/api/v1/auth/login", {{"login", "lola"}, {"password", password}}).json();
  auto out = post("/api/v1/auth/logout-all", nullptr, a["access_token"]);
  ASSERT_EQ(out.status, 204) << out.body;
  for (const auto& s : {a, b}) {
    EXPECT_EQ(post("/api/v1/auth/refresh", {{"refresh_token", s["refresh_token"]}}).status, 401);
    EXPECT_TRUE(eventually([&] {
      auto me = get("/api/v1/users/me", s["access_token"]);
      return me.status == 401 && me.error_code() == "token_revoked";
    })) << "an access token from before the logout still works";
  }
  EXPECT_EQ(post("/api/v1/auth/logout-all", nullptr).status, 401);
  auto again = post("/api/v1/auth/login", {{"login", "lola"}, {"password", password}});
  ASSERT_EQ(again.status, 200);
  EXPECT_EQ(get("/api/v1/users/me", again.json()["access_token"]).status, 200);
}

TEST_P(auth_api, a_password_change_needs_the_old_one_and_ends_other_sessions) {
  auto a = verified_login("pete");
  auto b = post("/api/v1/auth/login", {{"login", "pete"}, {"password", password}}).json();
  const std::string next = "a much better passphrase";
  auto wrong =
      post("/api/v1/users/me/password",
           {{"current_password", "not my password"}, {"new_password", next}}, a["access_token"]);
  EXPECT_EQ(wrong.status, 403);
  EXPECT_EQ(wrong.error_code(), "wrong_password");
  auto weak = post("/api/v1/users/me/password",
                   {{"current_password", password}, {"new_password", "short"}}, a["access_token"]);
  EXPECT_EQ(weak.status, 400);
  EXPECT_EQ(
      post("/api/v1/users/me/password", {{"current_password", password}, {"new_password", next}})
          .status,
      401);
  auto changed = post("/api/v1/users/me/password",
                      {{"current_password", password}, {"new_password", next}}, a["access_token"]);
  ASSERT_EQ(changed.status, 200) << changed.body;
  // The session that changed it goes on with the new tokens; every other one ends.
  EXPECT_EQ(get("/api/v1/users/me", changed.json()["access_token"]).status, 200);
  EXPECT_EQ(post("/api/v1/auth/refresh", {{"refresh_token", b["refresh_token"]}}).status, 401);
  EXPECT_TRUE(eventually([&] { return get("/api/v1/users/me", b["access_token"]).status == 401; }));
  EXPECT_EQ(get("/api/v1/users/me", changed.json()["access_token"]).status, 200);
  EXPECT_EQ(post("/api/v1/auth/login", {{"login", "pete"}, {"password", password}}).status, 401);
  EXPECT_EQ(post("/api/v1/auth/login", {{"login", "pete"}, {"password", next}}).status, 200);
  // Guessing the current password with a stolen access token is throttled like logins.
  int throttled = 0;
  for (int i = 0; i < 7; ++i) {
    auto r = post("/api/v1/users/me/password",
                  {{"current_password", "guess " + std::to_string(i)}, {"new_password", next}},
                  changed.json()["access_token"]);
    if (r.status == 429) ++throttled;
  }
  EXPECT_GT(throttled, 0);
}

TEST_P(auth_api, signup_does_not_reveal_a_registered_address) {
  verified_login("owen");
  auto fresh = signup("newcomer", "fresh@example.com");
  auto taken = signup("intruder", "owen@example.com");
  ASSERT_EQ(fresh.status, 201) << fresh.body;
  ASSERT_EQ(taken.status, 201) << taken.body;
  // The same answer, field for field (but the values).
  std::set<std::string> keys_fresh, keys_taken;
  auto fresh_body = fresh.json(), taken_body = taken.json();
  for (auto& [k, v] : fresh_body.items()) keys_fresh.insert(k);
  for (auto& [k, v] : taken_body.items()) keys_taken.insert(k);
  EXPECT_EQ(keys_fresh, keys_taken);
  EXPECT_EQ(taken.json()["verified"], false);
  // The address's owner learns of the attempt; no account "intruder" exists.
  auto mails = mails_to(server_->data_dir(), "owen@example.com");
  ASSERT_FALSE(mails.empty());
  EXPECT_NE(mails.front().find("tried to create a PixHive account"), std::string::npos);
  EXPECT_EQ(get("/api/v1/users/intruder").status, 404);
  EXPECT_EQ(post("/api/v1/auth/login", {{"login", "owen@example.com"}, {"password", password}})
                .json()["user"]["username"],
            "owen");
  // A username is public anyway: taking a used one still says so.
  EXPECT_EQ(signup("owen", "other@example.com").status, 409);
}

TEST_P(auth_api, a_resend_repeats_the_pending_code_instead_of_replacing_it) {
  ASSERT_EQ(signup("rhea").status, 201);
  auto first = latest_code(server_->data_dir(), "rhea@example.com");
  ASSERT_EQ(first.size(), 6u);
  // Anyone may ask for a resend (it answers alike for every name): it must not invalidate the
  // code the owner holds.
  ASSERT_EQ(post("/api/v1/auth/resend", {{"username", "rhea"}}).status, 202);
  ASSERT_EQ(mails_to(server_->data_dir(), "rhea@example.com").size(), 2u);
  EXPECT_EQ(latest_code(server_->data_dir(), "rhea@example.com"), first);
  EXPECT_EQ(post("/api/v1/auth/verify", {{"username", "rhea"}, {"code", first}}).status, 200);
}

TEST_P(auth_api, a_password_reset_by_mail_works_once_and_ends_every_session) {
  auto before = verified_login("rose");
  auto ask = post("/api/v1/auth/reset-request", {{"email", "rose@example.com"}});
  ASSERT_EQ(ask.status, 202) << ask.body;
  auto unknown = post("/api/v1/auth/reset-request", {{"email", "nobody@example.com"}});
  EXPECT_EQ(unknown.status, 202);
  EXPECT_EQ(unknown.body, ask.body) << "the answer reveals whether the address is known";
  auto mails = mails_to(server_->data_dir(), "rose@example.com");
  ASSERT_FALSE(mails.empty());
  static const std::regex link_re("/reset#token=([A-Za-z0-9_-]+)");
  std::smatch m;
  ASSERT_TRUE(std::regex_search(mails.front(), m, link_re)) << mails.front();
  std::string token = m[1];
  const std::string next = "a brand new passphrase";
  EXPECT_EQ(post("/api/v1/auth/reset", {{"token", token}, {"new_password", "short"}}).status, 400);
  auto done = post("/api/v1/auth/reset", {{"token", token}, {"new_password", next}});
  ASSERT_EQ(done.status, 204) << done.body;
  auto again = post("/api/v1/auth/reset", {{"token", token}, {"new_password", "yet another one"}});
  EXPECT_EQ(again.status, 400);
  EXPECT_EQ(again.error_code(), "invalid_reset_token");
  EXPECT_EQ(post("/api/v1/auth/login", {{"login", "rose"}, {"password", password}}).status, 401);
  EXPECT_EQ(post("/api/v1/auth/login", {{"login", "rose"}, {"password", next}}).status, 200);
  EXPECT_EQ(post("/api/v1/auth/refresh", {{"refresh_token", before["refresh_token"]}}).status, 401);
  EXPECT_TRUE(
      eventually([&] { return get("/api/v1/users/me", before["access_token"]).status == 401; }));
  // At most three mails an hour per address, whoever asks.
  for (int i = 0; i < 4; ++i)
    EXPECT_EQ(post("/api/v1/auth/reset-request", {{"email", "rose@example.com"}}).status, 202);
  size_t resets = 0;
  for (const auto& mail : mails_to(server_->data_dir(), "rose@example.com"))
    if (mail.find("/reset#token=") != std::string::npos) ++resets;
  EXPECT_EQ(resets, 3u);
}

TEST(unverified_accounts, expire_and_free_their_name_and_address) {
  // A lifetime that no step of this test outlasts, however slow the machine: the test makes the
  // account older than it (the clock is the test's) instead of waiting for it to pass.
  backends stores;
  auto server = stores.server({"--access-log", "false", "--unverified-account-ttl", "1h"});
  auto signup = [&](const std::string& name, const std::string& email) {
    return call(server->port(), verb::post, "/api/v1/auth/signup",
                {{"username", name}, {"email", email}, {"password", password}});
  };
  ASSERT_EQ(signup("squatter", "victim@example.com").status, 201);
  EXPECT_EQ(signup("squatter", "someone@example.com").status, 409);
  // Once the squatter's account is older than the lifetime, the name and the address are free.
  auto db = store::database::open(stores.db_url(), 1);
  ASSERT_TRUE(db) << to_problem(db.error()).message;
  ASSERT_TRUE(
      (*db)->query("UPDATE users SET created_at = created_at - 3601 WHERE username = 'squatter'"));
  EXPECT_EQ(signup("squatter", "victim@example.com").status, 201);
  auto code = latest_code(server->data_dir(), "victim@example.com");
  auto v = call(server->port(), verb::post, "/api/v1/auth/verify",
                {{"username", "squatter"}, {"code", code}});
  EXPECT_EQ(v.status, 200) << v.body;
}

TEST_P(auth_api, bad_signups_get_json_errors_and_change_nothing) {
  struct bad_case {
    std::string body;
    std::string content_type;
    int status;
    std::string code;
  };
  std::string long_name(300, 'a');
  std::vector<bad_case> cases{
      {"{\"username\": \"carol\",", "application/json", 400, "malformed_json"},
      {"[1,2,3]", "application/json", 400, "malformed_json"},
      {R"({"email":"carol@example.com","password":"long enough"})", "application/json", 400,
       "missing_field"},
      {R"({"username":"carol","password":"long enough"})", "application/json", 400,
       "missing_field"},
      {R"({"username":42,"email":"carol@example.com","password":"long enough"})",
       "application/json", 400, "invalid_field"},
      {R"({"username":"carol","email":["x"],"password":"long enough"})", "application/json", 400,
       "invalid_field"},
      {"{\"username\":\"" + long_name +
           "\",\"email\":\"carol@example.com\",\"password\":\"long enough\"}",
       "application/json", 400, "field_too_long"},
      {R"({"username":"carol","email":"carol@example.com","password":")" + std::string(2000, 'p') +
           "\"}",
       "application/json", 400, "field_too_long"},
      {R"({"username":"c","email":"carol@example.com","password":"long enough"})",
       "application/json", 400, "invalid_username"},
      {R"({"username":"carol!","email":"carol@example.com","password":"long enough"})",
       "application/json", 400, "invalid_username"},
      {R"({"username":"carol","email":"not-an-email","password":"long enough"})",
       "application/json", 400, "invalid_email"},
      {R"({"username":"carol","email":"carol@example.com","password":"short"})", "application/json",
       400, "weak_password"},
      {R"({"username":"carol","email":"carol@example.com","password":"long enough"})", "text/plain",
       415, "unsupported_media_type"},
  };
  for (const auto& c : cases) {
    http_connection conn{port()};
    auto r =
        conn.request(verb::post, "/api/v1/auth/signup", c.body, {{"Content-Type", c.content_type}});
    EXPECT_EQ(r.status, c.status) << c.body.substr(0, 80) << " -> " << r.body;
    EXPECT_EQ(r.error_code(), c.code) << c.body.substr(0, 80);
    EXPECT_EQ(r.headers["Content-Type"], "application/json");
    EXPECT_TRUE(r.json()["error"]["message"].is_string());
  }
  EXPECT_EQ(get("/api/v1/users/carol").status, 404);
  EXPECT_EQ(get("/api/v1/users/c").status, 404);
  // A valid signup still works afterwards, so nothing half-written blocks the name.
  EXPECT_EQ(signup("carol").status, 201);
}

TEST_P(auth_api, a_duplicate_username_is_a_conflict_a_duplicate_email_is_not_told) {
  ASSERT_EQ(signup("dave").status, 201);
  auto same_name = signup("DAVE", "other@example.com");
  EXPECT_EQ(same_name.status, 409);
  EXPECT_EQ(same_name.error_code(), "username_taken");
  // Answered like a new account (signup_does_not_reveal_a_registered_address), and none is made.
  auto same_email = signup("dave2", "Dave@Example.com");
  EXPECT_EQ(same_email.status, 201);
  EXPECT_EQ(get("/api/v1/users/dave2").status, 404);
  EXPECT_EQ(post("/api/v1/auth/resend", {{"username", "dave2"}}).status, 202);
}

TEST_P(auth_api, failed_logins_look_alike_and_are_throttled) {
  verified_login("erin");
  auto wrong = post("/api/v1/auth/login", {{"login", "erin"}, {"password", "wrong password"}});
  auto unknown = post("/api/v1/auth/login", {{"login", "nobody"}, {"password", "wrong password"}});
  EXPECT_EQ(wrong.status, 401);
  EXPECT_EQ(unknown.status, 401);
  // Alike but for the request id every error carries.
  EXPECT_EQ(wrong.json()["error"]["code"], unknown.json()["error"]["code"]);
  EXPECT_EQ(wrong.json()["error"]["message"], unknown.json()["error"]["message"]);
  for (int i = 0; i < 4; ++i)
    EXPECT_EQ(
        post("/api/v1/auth/login", {{"login", "erin"}, {"password", "wrong password"}}).status,
        401);
  // Five failures within 15 minutes: even the right password is refused for now.
  auto throttled = post("/api/v1/auth/login", {{"login", "erin"}, {"password", password}});
  EXPECT_EQ(throttled.status, 429);
  EXPECT_EQ(throttled.error_code(), "too_many_attempts");
  ASSERT_TRUE(throttled.headers.count("Retry-After"));
  auto retry = std::stoi(throttled.headers["Retry-After"]);
  EXPECT_GT(retry, 0);
  EXPECT_LE(retry, 900);
}

TEST_P(auth_api, verification_codes_are_limited_and_can_be_resent) {
  ASSERT_EQ(signup("frank").status, 201);
  auto code = latest_code(server_->data_dir(), "frank@example.com");
  std::string wrong = code == "000000" ? "111111" : "000000";
  for (int i = 0; i < 5; ++i) {
    auto r = post("/api/v1/auth/verify", {{"username", "frank"}, {"code", wrong}});
    EXPECT_EQ(r.status, 400);
    EXPECT_EQ(r.error_code(), "invalid_code");
  }
  auto locked = post("/api/v1/auth/verify", {{"username", "frank"}, {"code", code}});
  EXPECT_EQ(locked.status, 429);
  EXPECT_EQ(locked.error_code(), "too_many_attempts");
  // Asking for a new code does not buy new guesses: the count goes with the account. (The
  // server runs with --resend-interval 0s, so a new code is really mailed.)
  EXPECT_EQ(post("/api/v1/auth/resend", {{"username", "frank"}}).status, 202);
  auto fresh = latest_code(server_->data_dir(), "frank@example.com");
  ASSERT_EQ(fresh.size(), 6u);
  auto still = post("/api/v1/auth/verify", {{"username", "frank"}, {"code", fresh}});
  EXPECT_EQ(still.status, 429) << still.body;
  EXPECT_EQ(still.error_code(), "too_many_attempts");
}

TEST_P(auth_api, resend_mails_a_new_code_that_works) {
  ASSERT_EQ(signup("fiona").status, 201);
  auto first = latest_code(server_->data_dir(), "fiona@example.com");
  std::string wrong = first == "000000" ? "111111" : "000000";
  EXPECT_EQ(post("/api/v1/auth/verify", {{"username", "fiona"}, {"code", wrong}}).status, 400);
  EXPECT_EQ(post("/api/v1/auth/resend", {{"username", "fiona"}}).status, 202);
  auto fresh = latest_code(server_->data_dir(), "fiona@example.com");
  ASSERT_EQ(fresh.size(), 6u);
  auto ok = post("/api/v1/auth/verify", {{"username", "fiona"}, {"code", fresh}});
  EXPECT_EQ(ok.status, 200) << ok.body;
  EXPECT_EQ(post("/api/v1/auth/login", {{"login", "fiona"}, {"password", password}}).status, 200);
}

TEST_P(auth_api, bad_tokens_are_rejected) {
  auto tokens = verified_login("gina");
  auto user_id = std::stoll(tokens["user"]["id"].get<std::string>());
  auto now = unix_now();
  auto key = jwt_key(*server_);
  ASSERT_GE(key.size(), 32u);
  auto expired = jwt::sign({user_id, "gina", "user", now - 1000, now - 100}, key);
  auto forged =
      jwt::sign({user_id, "gina", "admin", now, now + 900}, "some other key of at least 32 chars");
  auto none = crypto::base64url_encode(R"({"alg":"none","typ":"JWT"})") + "." +
              crypto::base64url_encode(json{
                  {"sub", std::to_string(user_id)},
                  {"name", "gina"},
                  {"role", "admin"},
                  {"iat", now},
                  {"exp", now + 900}}.dump()) +
              ".";
  for (const auto& [token, code] :
       std::vector<std::pair<std::string, std::string>>{{expired, "token_expired"},
                                                        {forged, "invalid_token"},
                                                        {none, "invalid_token"},
                                                        {"garbage", "invalid_token"}}) {
    auto r = get("/api/v1/users/me", token);
    EXPECT_EQ(r.status, 401) << token;
    EXPECT_EQ(r.error_code(), code);
  }
  auto missing = get("/api/v1/users/me");
  EXPECT_EQ(missing.status, 401);
  EXPECT_EQ(missing.error_code(), "unauthorized");
  EXPECT_EQ(get("/api/v1/users/me", tokens["access_token"]).status, 200);
}

TEST_P(auth_api, admins_list_disable_and_enable_users) {
  ASSERT_EQ(create_user_cli("root", true), 0);
  auto admin = post("/api/v1/auth/login", {{"login", "root"}, {"password", password}});
  ASSERT_EQ(admin.status, 200) << admin.body;
  EXPECT_EQ(admin.json()["user"]["role"], "admin");
  auto admin_token = admin.json()["access_token"].get<std::string>();

  auto user = verified_login("hank");
  auto user_token = user["access_token"].get<std::string>();
  auto user_id = user["user"]["id"].get<std::string>();
  for (auto n : {"ivy", "jack", "kate"}) ASSERT_EQ(signup(n).status, 201);

  // A normal user is refused on every admin route, and nothing changes.
  EXPECT_EQ(get("/api/v1/admin/users", user_token).status, 403);
  auto forbidden = post("/api/v1/admin/users/" + user_id + "/disable", nullptr, user_token);
  EXPECT_EQ(forbidden.status, 403);
  EXPECT_EQ(forbidden.error_code(), "forbidden");
  EXPECT_EQ(get("/api/v1/admin/users").status, 401);

  // Pages of two cover all five users exactly once.
  std::set<std::string> seen;
  std::string cursor;
  int pages = 0;
  do {
    auto page = get("/api/v1/admin/users?limit=2" + (cursor.empty() ? "" : "&cursor=" + cursor),
                    admin_token);
    ASSERT_EQ(page.status, 200) << page.body;
    auto j = page.json();
    EXPECT_LE(j["users"].size(), 2u);
    for (auto& u : j["users"]) EXPECT_TRUE(seen.insert(u["username"].get<std::string>()).second);
    cursor = j["next_cursor"].is_null() ? "" : j["next_cursor"].get<std::string>();
    ++pages;
  } while (!cursor.empty() && pages < 10);
  EXPECT_EQ(seen.size(), 5u);
  EXPECT_EQ(pages, 3);
  EXPECT_EQ(get("/api/v1/admin/users?limit=0", admin_token).status, 400);
  EXPECT_EQ(get("/api/v1/admin/users?cursor=abc", admin_token).status, 400);
  EXPECT_EQ(post("/api/v1/admin/users/999/disable", nullptr, admin_token).status, 404);
  EXPECT_EQ(post("/api/v1/admin/users/x1/disable", nullptr, admin_token).status, 400);

  auto disabled = post("/api/v1/admin/users/" + user_id + "/disable", nullptr, admin_token);
  ASSERT_EQ(disabled.status, 200) << disabled.body;
  EXPECT_EQ(disabled.json()["disabled"], true);
  auto login = post("/api/v1/auth/login", {{"login", "hank"}, {"password", password}});
  EXPECT_EQ(login.status, 403);
  EXPECT_EQ(login.error_code(), "account_disabled");
  EXPECT_EQ(post("/api/v1/auth/refresh", {{"refresh_token", user["refresh_token"]}}).status, 401);
  // Refused either by auth (403 account_disabled) or, once the revocation broadcast arrived,
  // by every service from the token alone (401 token_revoked).
  auto me = get("/api/v1/users/me", user_token);
  EXPECT_TRUE(me.status == 403 || me.error_code() == "token_revoked") << me.body;

  ASSERT_EQ(post("/api/v1/admin/users/" + user_id + "/enable", nullptr, admin_token).status, 200);
  auto fresh = post("/api/v1/auth/login", {{"login", "hank"}, {"password", password}});
  ASSERT_EQ(fresh.status, 200);
  EXPECT_EQ(get("/api/v1/users/me", fresh.json()["access_token"]).status, 200);
  // Enabling the account again does not bring back the tokens issued before the disable.
  auto old = get("/api/v1/users/me", user_token);
  EXPECT_EQ(old.status, 401) << old.body;
  EXPECT_EQ(old.error_code(), "token_revoked");
  EXPECT_EQ(post("/api/v1/auth/refresh", {{"refresh_token", user["refresh_token"]}}).status, 401);
}

/// Logins from many addresses against one account, through a trusted proxy's X-Forwarded-For.
class login_throttle : public ::testing::Test {
 protected:
  login_throttle()
      : server_({"--access-log", "false", "--trusted-proxies", "127.0.0.1/32",
                 "--login-failures-per-ip", "2", "--login-failures-per-account", "4"}) {
    for (const char* name : {"vic", "vera"}) create_and_login(server_, name);
  }

  reply login(const std::string& name, const std::string& pw, const std::string& from,
              const std::string& device = {}) {
    json body{{"login", name}, {"password", pw}};
    if (!device.empty()) body["device_token"] = device;
    http_connection conn{server_.port()};
    return conn.request(verb::post, "/api/v1/auth/login", body.dump(),
                        {{"Content-Type", "application/json"}, {"X-Forwarded-For", from}});
  }

  pixhive_server server_;
};

TEST_F(login_throttle, strangers_cannot_lock_the_owner_out_of_a_known_device) {
  auto pw = std::string("correct horse battery");
  auto first = login("vic", pw, "198.51.100.1");
  ASSERT_EQ(first.status, 200) << first.body;
  std::string device = first.json().value("device_token", "");
  ASSERT_FALSE(device.empty());
  // Two strangers use up the account-wide budget of untrusted attempts.
  for (const char* from : {"203.0.113.1", "203.0.113.2"})
    for (int i = 0; i < 2; ++i) EXPECT_EQ(login("vic", "guess", from).status, 401);
  EXPECT_EQ(login("vic", "guess", "203.0.113.1").status, 429) << "per address";
  EXPECT_EQ(login("vic", "guess", "203.0.113.9").status, 429) << "per account";
  // The bound holds for a right guess too: no stranger's attempt reaches the password check.
  EXPECT_EQ(login("vic", pw, "203.0.113.10").status, 429);
  // The owner, from a new address, on a device that logged in before: straight in.
  auto owner = login("vic", pw, "192.0.2.7", device);
  EXPECT_EQ(owner.status, 200) << owner.body;
  // A device token is bound to its account and cannot be forged.
  EXPECT_EQ(login("vera", pw, "192.0.2.7", device).status, 200) << "vera is not under attack";
  EXPECT_EQ(login("vic", pw, "192.0.2.8", device.substr(0, device.size() - 2) + "xx").status, 429);
}

TEST_F(login_throttle, ipv6_clients_are_counted_by_their_64) {
  auto pw = std::string("correct horse battery");
  EXPECT_EQ(login("vera", "guess", "2001:db8:1:2::1").status, 401);
  EXPECT_EQ(login("vera", "guess", "2001:db8:1:2:ffff::2").status, 401);
  EXPECT_EQ(login("vera", pw, "2001:db8:1:2::3").status, 429) << "the same /64";
  EXPECT_EQ(login("vera", pw, "2001:db8:1:3::1").status, 200) << "another /64";
}

INSTANTIATE_TEST_SUITE_P(backends, auth_api, ::testing::Values("sqlite", "postgres"), backend_name);
