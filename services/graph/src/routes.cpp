#include "pixhive/graph/graph.hpp"
#include "pixhive/http/actor_client.hpp"
#include "pixhive/http/json.hpp"

namespace pixhive::graph {

using namespace contracts;
using http::bhttp::verb;
using nlohmann::json;
using ctx_ptr = std::shared_ptr<http::context>;
using binder = http::actor_client<graph_actor>;

namespace {

json people_json(const person_page& p) {
  json people = json::array();
  for (const auto& x : p.people)
    people.push_back({{"id", std::to_string(x.id)}, {"username", x.username}, {"since", x.since}});
  return {{"users", people},
          {"next_cursor", p.next_cursor ? json(std::to_string(p.next_cursor)) : json(nullptr)}};
}

json comment_json(const comment_view& c) {
  return {{"id", std::to_string(c.id)},
          {"photo_id", std::to_string(c.photo_id)},
          {"author", {{"id", std::to_string(c.author_id)}, {"username", c.author_username}}},
          {"text", c.text},
          {"created_at", c.created_at}};
}

json notification_json(const notification_view& n) {
  auto id_or_null = [](int64_t v) { return v ? json(std::to_string(v)) : json(nullptr); };
  return {{"id", std::to_string(n.id)},
          {"kind", n.kind},
          {"actor", n.actor_id
                        ? json{{"id", std::to_string(n.actor_id)}, {"username", n.actor_username}}
                        : json(nullptr)},
          {"photo_id", id_or_null(n.photo_id)},
          {"comment_id", id_or_null(n.comment_id)},
          {"text", n.text},
          {"created_at", n.created_at},
          {"read", n.read}};
}

}  // namespace

void add_routes(http::router& routes, caf::actor_system& sys, graph_actor service) {
  binder b{sys, service};
  http::route_options user_opts{64 * 1024, http::access::user};
  http::route_options read_opts{64 * 1024, http::access::optional_user};

  auto follow = [b](bool on) {
    return [b, on](ctx_ptr ctx, http::responder respond) {
      b.call<follow_state>(
          respond, follow_request{viewer_from(ctx->user), ctx->params.at("username"), on},
          [](follow_state& s) {
            return http::json_response(200, {{"username", s.username},
                                             {"following", s.following},
                                             {"followers", s.followers},
                                             {"following_count", s.following_count}});
          });
    };
  };
  routes.add(verb::put, "/api/v1/users/{username}/follow", follow(true), user_opts);
  routes.add(verb::delete_, "/api/v1/users/{username}/follow", follow(false), user_opts);

  auto follows = [b](bool followers) {
    return [b, followers](ctx_ptr ctx, http::responder respond) {
      auto page = http::parse_page(*ctx);
      if (!page) return respond(http::error_response(page.error()));
      b.call<person_page>(
          respond,
          list_follows_request{ctx->params.at("username"), followers, page->cursor, page->limit},
          [](person_page& p) { return http::json_response(200, people_json(p)); });
    };
  };
  routes.add(verb::get, "/api/v1/users/{username}/followers", follows(true), read_opts);
  routes.add(verb::get, "/api/v1/users/{username}/following", follows(false), read_opts);

  auto like = [b](bool on) {
    return [b, on](ctx_ptr ctx, http::responder respond) {
      auto id = http::parse_id(ctx->params.at("id"), "id");
      if (!id) return respond(http::error_response(id.error()));
      b.call<like_state>(respond, like_request{viewer_from(ctx->user), *id, on}, [](like_state& s) {
        return http::json_response(200, {{"photo_id", std::to_string(s.photo_id)},
                                         {"likes", s.likes},
                                         {"liked_by_me", s.liked_by_me}});
      });
    };
  };
  routes.add(verb::put, "/api/v1/photos/{id}/like", like(true), user_opts);
  routes.add(verb::delete_, "/api/v1/photos/{id}/like", like(false), user_opts);
  routes.add(
      verb::get, "/api/v1/photos/{id}/likes",
      [b](ctx_ptr ctx, http::responder respond) {
        auto id = http::parse_id(ctx->params.at("id"), "id");
        if (!id) return respond(http::error_response(id.error()));
        auto page = http::parse_page(*ctx);
        if (!page) return respond(http::error_response(page.error()));
        b.call<person_page>(
            respond, list_likes_request{*id, viewer_from(ctx->user), page->cursor, page->limit},
            [](person_page& p) { return http::json_response(200, people_json(p)); });
      },
      read_opts);

  routes.add(
      verb::post, "/api/v1/photos/{id}/comments",
      [b](ctx_ptr ctx, http::responder respond) {
        auto id = http::parse_id(ctx->params.at("id"), "id");
        if (!id) return respond(http::error_response(id.error()));
        auto body = http::json_body(*ctx);
        if (!body) return respond(http::error_response(body.error()));
        // The service counts characters (at most 2200); this bounds the bytes.
        auto text = http::string_field(*body, "text", 16 * 1024);
        if (!text) return respond(http::error_response(text.error()));
        b.call<comment_view>(
            respond, comment_request{viewer_from(ctx->user), *id, **text},
            [](comment_view& c) { return http::json_response(201, comment_json(c)); });
      },
      user_opts);
  routes.add(
      verb::get, "/api/v1/photos/{id}/comments",
      [b](ctx_ptr ctx, http::responder respond) {
        auto id = http::parse_id(ctx->params.at("id"), "id");
        if (!id) return respond(http::error_response(id.error()));
        auto page = http::parse_page(*ctx);
        if (!page) return respond(http::error_response(page.error()));
        b.call<comment_page>(
            respond, list_comments_request{*id, viewer_from(ctx->user), page->cursor, page->limit},
            [](comment_page& p) {
              json comments = json::array();
              for (const auto& c : p.comments) comments.push_back(comment_json(c));
              return http::json_response(
                  200, {{"comments", comments},
                        {"next_cursor",
                         p.next_cursor ? json(std::to_string(p.next_cursor)) : json(nullptr)}});
            });
      },
      read_opts);
  routes.add(
      verb::delete_, "/api/v1/photos/{id}/comments/{comment_id}",
      [b](ctx_ptr ctx, http::responder respond) {
        auto id = http::parse_id(ctx->params.at("id"), "id");
        if (!id) return respond(http::error_response(id.error()));
        auto cid = http::parse_id(ctx->params.at("comment_id"), "comment_id");
        if (!cid) return respond(http::error_response(cid.error()));
        b.call<done>(respond, delete_comment_request{viewer_from(ctx->user), *id, *cid}, [](done&) {
          return http::response{http::bhttp::status::no_content, 11};
        });
      },
      user_opts);

  routes.add(
      verb::get, "/api/v1/notifications",
      [b](ctx_ptr ctx, http::responder respond) {
        auto page = http::parse_page(*ctx);
        if (!page) return respond(http::error_response(page.error()));
        b.call<notification_page>(
            respond, notifications_request{viewer_from(ctx->user), page->cursor, page->limit},
            [](notification_page& p) {
              json items = json::array();
              for (const auto& n : p.items) items.push_back(notification_json(n));
              return http::json_response(
                  200, {{"notifications", items},
                        {"unread", p.unread},
                        {"next_cursor",
                         p.next_cursor ? json(std::to_string(p.next_cursor)) : json(nullptr)}});
            });
      },
      user_opts);
  routes.add(
      verb::post, "/api/v1/notifications/read",
      [b](ctx_ptr ctx, http::responder respond) {
        b.call<done>(respond, mark_read_request{viewer_from(ctx->user)}, [](done&) {
          return http::response{http::bhttp::status::no_content, 11};
        });
      },
      user_opts);
}

}  // namespace pixhive::graph
