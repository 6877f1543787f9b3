#include <gtest/gtest.h>

#include "pixhive/http/router.hpp"

using namespace pixhive::http;

namespace {

handler noop() {
  return [](std::shared_ptr<context>, responder) {};
}

}  // namespace

TEST(router, matches_templates_and_prefers_literals) {
  router r;
  r.add(bhttp::verb::get, "/api/v1/users/{username}", noop());
  r.add(bhttp::verb::get, "/api/v1/users/me", noop());
  r.add(bhttp::verb::post, "/api/v1/admin/users/{id}/disable", noop());
  auto m = r.find(bhttp::verb::get, "/api/v1/users/bob");
  ASSERT_TRUE(m.found);
  EXPECT_EQ(m.found->path, "/api/v1/users/{username}");
  EXPECT_EQ(m.params.at("username"), "bob");
  auto me = r.find(bhttp::verb::get, "/api/v1/users/me");
  ASSERT_TRUE(me.found);
  EXPECT_EQ(me.found->path, "/api/v1/users/me");
  auto id = r.find(bhttp::verb::post, "/api/v1/admin/users/17/disable");
  ASSERT_TRUE(id.found);
  EXPECT_EQ(id.params.at("id"), "17");
}

TEST(router, reports_not_found_and_allowed_methods) {
  router r;
  r.add(bhttp::verb::get, "/api/v1/users/me", noop());
  r.add(bhttp::verb::patch, "/api/v1/users/me", noop());
  auto none = r.find(bhttp::verb::get, "/api/v1/nothing");
  EXPECT_FALSE(none.found);
  EXPECT_TRUE(none.allowed.empty());
  auto wrong = r.find(bhttp::verb::delete_, "/api/v1/users/me");
  EXPECT_FALSE(wrong.found);
  EXPECT_EQ(wrong.allowed.size(), 2u);
  EXPECT_FALSE(r.find(bhttp::verb::get, "/api/v1/users/me/extra").found);
}

TEST(router, decodes_parameters) {
  router r;
  r.add(bhttp::verb::get, "/u/{name}", noop());
  auto m = r.find(bhttp::verb::get, "/u/a%20b");
  ASSERT_TRUE(m.found);
  EXPECT_EQ(m.params.at("name"), "a b");
  EXPECT_FALSE(r.find(bhttp::verb::get, "/u/%zz").found);
  auto q = parse_query("limit=5&cursor=abc%2F&flag&x=a+b");
  EXPECT_EQ(q.at("limit"), "5");
  EXPECT_EQ(q.at("cursor"), "abc/");
  EXPECT_EQ(q.at("flag"), "");
  EXPECT_EQ(q.at("x"), "a b");
  EXPECT_FALSE(percent_decode("%4"));
}

TEST(router, the_fallback_answers_reads_outside_the_api_that_nothing_else_matches) {
  router r;
  r.add(bhttp::verb::get, "/api/v1/photos/{id}", noop());
  r.add(bhttp::verb::post, "/upload", noop());
  EXPECT_FALSE(r.find(bhttp::verb::get, "/photos/12").found);
  r.set_fallback(noop());
  for (const char* page : {"/", "/photos/12", "/assets/app-1a2b.js", "/u/alice/followers"}) {
    auto m = r.find(bhttp::verb::get, page);
    ASSERT_TRUE(m.found) << page;
    EXPECT_EQ(m.found->path, "*");
    EXPECT_TRUE(r.find(bhttp::verb::head, page).found) << page;
  }
  // The API keeps its own 404s, other methods are not pages, and a path with another method
  // stays a 405.
  EXPECT_FALSE(r.find(bhttp::verb::get, "/api/v1/nothing").found);
  EXPECT_FALSE(r.find(bhttp::verb::get, "/metrics").found);
  EXPECT_FALSE(r.find(bhttp::verb::post, "/photos/12").found);
  auto upload = r.find(bhttp::verb::get, "/upload");
  EXPECT_FALSE(upload.found);
  EXPECT_EQ(upload.allowed.size(), 1u);
  EXPECT_EQ(r.find(bhttp::verb::get, "/api/v1/photos/7").found->path, "/api/v1/photos/{id}");
  EXPECT_FALSE(r.find(bhttp::verb::get, "//etc/passwd").found);
}
