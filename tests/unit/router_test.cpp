#include <gtest/gtest.h>

#include <future>

#include <caf/all.hpp>

#include "pixhive/http/actor_client.hpp"
#include "pixhive/http/json.hpp"
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

namespace {

/// Serves `r` the way the server does and returns what the handler answered.
std::optional<response> serve(const router& r, bhttp::verb method, std::string_view path) {
  auto m = r.find(method, path);
  if (!m.found) return std::nullopt;
  auto ctx = std::make_shared<context>();
  ctx->params = m.params;
  std::optional<response> got;
  m.found->fn(ctx, [&](response res) { got = std::move(res); });
  return got;
}

}  // namespace

TEST(router, handlers_may_return_their_answer) {
  router r;
  r.add(bhttp::verb::get, "/now/{name}", [](const context& ctx) {
    return json_response(200, {{"name", ctx.params.at("name")}});
  });
  r.add(bhttp::verb::get, "/missing", [](std::shared_ptr<context>) -> answer {
    return make_error(pixhive::errc::not_found, "no_such_thing", "no such thing");
  });
  responder pending;
  r.add(bhttp::verb::get, "/later", [&pending](const context&) {
    return answer::later([&pending](responder respond) { pending = std::move(respond); });
  });
  // The responder style goes on working next to it.
  r.add(bhttp::verb::get, "/old", [](std::shared_ptr<context>, responder respond) {
    respond(json_response(202, {{"ok", true}}));
  });

  auto now = serve(r, bhttp::verb::get, "/now/bob");
  ASSERT_TRUE(now);
  EXPECT_EQ(now->result_int(), 200u);
  EXPECT_EQ(now->body(), "{\"name\":\"bob\"}\n");
  EXPECT_FALSE(now->error);

  // An error becomes its status in error_response(); the body is the server's to write.
  auto missing = serve(r, bhttp::verb::get, "/missing");
  ASSERT_TRUE(missing);
  EXPECT_EQ(missing->result_int(), 404u);
  ASSERT_TRUE(missing->error);
  EXPECT_EQ(missing->error->code, "no_such_thing");
  EXPECT_EQ((*missing)[bhttp::field::content_type], "application/json");

  // A later answer comes when its start function responds.
  std::optional<response> later;
  auto m = r.find(bhttp::verb::get, "/later");
  ASSERT_TRUE(m.found);
  m.found->fn(std::make_shared<context>(), [&](response res) { later = std::move(res); });
  EXPECT_FALSE(later);
  ASSERT_TRUE(pending);
  pending(json_response(201, {}));
  ASSERT_TRUE(later);
  EXPECT_EQ(later->result_int(), 201u);

  auto old = serve(r, bhttp::verb::get, "/old");
  ASSERT_TRUE(old);
  EXPECT_EQ(old->result_int(), 202u);
}

TEST(router, error_responses_carry_retry_after_and_their_error) {
  auto res =
      error_response(make_error(pixhive::errc::too_many_requests, "rate_limited", "slow down", 7));
  EXPECT_EQ(res.result_int(), 429u);
  EXPECT_EQ(res[bhttp::field::retry_after], "7");
  ASSERT_TRUE(res.error);
  EXPECT_EQ(res.error->message, "slow down");
  // A plain Beast response converts, without an error.
  response plain = bhttp::response<bhttp::string_body>{bhttp::status::ok, 11};
  EXPECT_FALSE(plain.error);
}

namespace {

using adder_actor = caf::typed_actor<caf::replies_to<int32_t>::with<int32_t>>;

// With an argument: CAF 0.17 dereferences a null argument tuple for argument-less spawns, which
// UBSan reports.
adder_actor::behavior_type adder(int32_t step) {
  return {[step](int32_t x) -> caf::result<int32_t> {
    if (x < 0) return make_error(pixhive::errc::invalid_argument, "negative", "no negatives");
    return x + step;
  }};
}

}  // namespace

TEST(router, an_actor_reply_is_an_answer_that_comes_later) {
  caf::actor_system_config cfg;
  cfg.set("logger.verbosity", caf::atom("quiet"));
  caf::actor_system sys{cfg};
  auto service = sys.spawn(adder, int32_t{1});
  {
    actor_client<adder_actor> client{sys, service};
    auto answered = [&](int32_t x) {
      auto got = std::make_shared<std::promise<response>>();
      auto later = client.ask<int32_t>(x, [](int32_t& v) {
        return json_response(200, {{"v", v}});
      });
      std::move(later).deliver([got](response res) { got->set_value(std::move(res)); });
      auto f = got->get_future();
      EXPECT_EQ(f.wait_for(std::chrono::seconds(10)), std::future_status::ready);
      return f.get();
    };
    EXPECT_EQ(answered(41).body(), "{\"v\":42}\n");
    auto refused = answered(-1);
    EXPECT_EQ(refused.result_int(), 400u);
    ASSERT_TRUE(refused.error);
    EXPECT_EQ(refused.error->code, "negative");
  }
  caf::anon_send_exit(service, caf::exit_reason::user_shutdown);
}
