// The auth REST API driven over real HTTP against a real `pixhive` process, once with SQLite and
// once with a PostgreSQL server started by the fixture.
#include <fstream>

#include <gtest/gtest.h>

#include "pixhive/core/crypto.hpp"
#include "pixhive/core/ids.hpp"
#include "pixhive/core/jwt.hpp"
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
    std::vector<std::string> args{"--auth-workers",    "2", "--access-log", "false",
                                  "--resend-interval", "0s"};
    if (GetParam() == "postgres") {
      auto& pg = shared_postgres();
      if (!pg.available())
        PIXHIVE_SKIP_MISSING(std::string("skipping PostgreSQL run: ") + pg.why());
      args.push_back("--db");
      args.push_back(pg.new_database());
    }
    server_ = std::make_unique<pixhive_server>(args);
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

  std::string jwt_key() {
    std::ifstream in{server_->data_dir() + "/jwt.key"};
    std::string key;
    std::getline(in, key);
    return key;
  }

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

TEST_P(auth_api, duplicate_username_or_email_is_a_conflict) {
  ASSERT_EQ(signup("dave").status, 201);
  auto same_name = signup("DAVE", "other@example.com");
  EXPECT_EQ(same_name.status, 409);
  EXPECT_EQ(same_name.error_code(), "username_taken");
  auto same_email = signup("dave2", "Dave@Example.com");
  EXPECT_EQ(same_email.status, 409);
  EXPECT_EQ(same_email.error_code(), "email_taken");
  EXPECT_EQ(get("/api/v1/users/dave2").status, 404);
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
  auto key = jwt_key();
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
  EXPECT_EQ(post("/api/v1/auth/login", {{"login", "hank"}, {"password", password}}).status, 200);
}

INSTANTIATE_TEST_SUITE_P(backends, auth_api, ::testing::Values("sqlite", "postgres"),
                         [](const auto& info) { return info.param; });
