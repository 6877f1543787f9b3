// The web app's side of the server: the built app served at / by the media process (pages fall
// back to index.html, hashed assets cached for good, the API keeps its JSON 404s), and the
// refresh token kept in an HttpOnly SameSite cookie that only the app's own calls (with the
// X-PixHive-Web header) may use.
#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

#include "support.hpp"

using namespace pixhive;
using namespace pixhive::testing;
using nlohmann::json;
using verb = bhttp::verb;

namespace {

void write(const std::string& path, const std::string& text) {
  std::ofstream{path, std::ios::binary} << text;
}

/// The `name=value` of a Set-Cookie header ("" when absent).
std::string cookie_pair(const reply& r) {
  auto it = r.headers.find("Set-Cookie");
  if (it == r.headers.end()) return {};
  return it->second.substr(0, it->second.find(';'));
}

}  // namespace

TEST(web, the_built_app_is_served_at_the_root_and_every_page_gets_index_html) {
  temp_dir site;
  std::filesystem::create_directories(site.path() + "/assets");
  write(site.path() + "/index.html", "<!doctype html><title>PixHive</title>");
  write(site.path() + "/assets/app-1a2b3c.js", "console.log('pixhive')");
  pixhive_server server{{"--access-log", "false", "--web-dir", site.path()}};
  auto get = [&](const std::string& target, std::map<std::string, std::string> h = {}) {
    http_connection c{server.port()};
    return c.request(verb::get, target, {}, std::move(h));
  };
  for (const char* page : {"/", "/photos/42", "/u/alice?tab=followers"}) {
    auto r = get(page);
    EXPECT_EQ(r.status, 200) << page;
    EXPECT_EQ(r.body, "<!doctype html><title>PixHive</title>") << page;
    EXPECT_EQ(r.headers["Content-Type"], "text/html; charset=utf-8");
    EXPECT_EQ(r.headers["Cache-Control"], "private, no-cache");
    EXPECT_NE(r.headers["Content-Security-Policy"].find("default-src 'self'"), std::string::npos);
  }
  auto js = get("/assets/app-1a2b3c.js");
  EXPECT_EQ(js.status, 200);
  EXPECT_EQ(js.headers["Content-Type"], "text/javascript; charset=utf-8");
  EXPECT_EQ(js.headers["Cache-Control"], "public, max-age=31536000, immutable");
  EXPECT_EQ(get("/assets/app-1a2b3c.js", {{"If-None-Match", js.headers["ETag"]}}).status, 304);
  EXPECT_EQ(get("/assets/gone-9z.js").status, 404);
  // The API is not a page.
  auto api = get("/api/v1/nothing");
  EXPECT_EQ(api.status, 404);
  EXPECT_EQ(api.error_code(), "not_found");
  EXPECT_EQ(call(server.port(), verb::post, "/photos/42").status, 404);
}

TEST(web, in_split_mode_media_serves_the_app_and_the_other_services_do_not) {
  // Behind the ingress, every path outside /api/ goes to media (ingress-routes.tsv, last row).
  temp_dir site;
  write(site.path() + "/index.html", "<!doctype html><title>PixHive</title>");
  pixhive_server media{{"--access-log", "false", "--web-dir", site.path()}, "media"};
  auto page = call(media.port(), verb::get, "/photos/42");
  EXPECT_EQ(page.status, 200);
  EXPECT_EQ(page.body, "<!doctype html><title>PixHive</title>");
  pixhive_server auth{{"--access-log", "false", "--web-dir", site.path()}, "auth"};
  EXPECT_EQ(call(auth.port(), verb::get, "/photos/42").status, 404);
}

TEST(web, the_refresh_token_lives_in_an_httponly_cookie_only_the_app_may_use) {
  pixhive_server server{{"--access-log", "false"}};
  create_and_login(server, "alice");
  std::map<std::string, std::string> app{{"Content-Type", "application/json"},
                                         {"X-PixHive-Web", "1"}};
  auto post = [&](const std::string& target, const std::string& body,
                  std::map<std::string, std::string> h) {
    http_connection c{server.port()};
    return c.request(verb::post, target, body, std::move(h));
  };
  auto login =
      post("/api/v1/auth/login", R"({"login":"alice","password":"correct horse battery"})", app);
  ASSERT_EQ(login.status, 200) << login.body;
  EXPECT_EQ(login.json()["refresh_token"], "");
  EXPECT_FALSE(login.json()["access_token"].get<std::string>().empty());
  auto set = login.headers["Set-Cookie"];
  EXPECT_NE(set.find("HttpOnly"), std::string::npos) << set;
  EXPECT_NE(set.find("SameSite=Strict"), std::string::npos) << set;
  EXPECT_NE(set.find("Path=/api/v1/auth"), std::string::npos) << set;
  auto first = cookie_pair(login);
  ASSERT_EQ(first.rfind("pixhive_refresh=", 0), 0u) << set;

  // Without the header the cookie is not looked at (a cross-site form cannot set the header).
  auto forged =
      post("/api/v1/auth/refresh", "{}", {{"Content-Type", "application/json"}, {"Cookie", first}});
  EXPECT_EQ(forged.status, 400) << forged.body;
  // The app refreshes with the cookie; the token rotates.
  auto h = app;
  h["Cookie"] = "theme=dark; " + first;
  auto refreshed = post("/api/v1/auth/refresh", "{}", h);
  ASSERT_EQ(refreshed.status, 200) << refreshed.body;
  EXPECT_EQ(refreshed.json()["refresh_token"], "");
  auto second = cookie_pair(refreshed);
  EXPECT_NE(second, first);
  h["Cookie"] = first;
  EXPECT_EQ(post("/api/v1/auth/refresh", "{}", h).status, 401) << "a rotated token is spent";
  // Logout ends the session and clears the cookie.
  h["Cookie"] = second;
  auto out = post("/api/v1/auth/logout", "{}", h);
  EXPECT_EQ(out.status, 204);
  EXPECT_NE(out.headers["Set-Cookie"].find("Max-Age=0"), std::string::npos);
  EXPECT_EQ(post("/api/v1/auth/refresh", "{}", h).status, 401);
  h.erase("Cookie");
  EXPECT_EQ(post("/api/v1/auth/refresh", "{}", h).status, 401);
}
