#include "pixhive/http/actor_client.hpp"
#include "pixhive/http/json.hpp"
#include "pixhive/search/search.hpp"

namespace pixhive::search {

using namespace contracts;
using http::bhttp::verb;
using nlohmann::json;
using ctx_ptr = std::shared_ptr<http::context>;

namespace {

constexpr int64_t max_offset = 10'000;

json cursor_json(int64_t cursor) {
  return cursor ? json(std::to_string(cursor)) : json(nullptr);
}

}  // namespace

void add_routes(http::router& routes, caf::actor_system& sys, search_actor service) {
  http::actor_client<search_actor> b{sys, service};
  http::route_options read_opts{64 * 1024, http::access::optional_user};
  read_opts.limit = "search";

  routes.add(
      verb::get, "/api/v1/search",
      [b](ctx_ptr ctx, http::responder respond) {
        auto page = http::parse_page(*ctx);
        if (!page) return respond(http::error_response(page.error()));
        // The search cursor is an offset into ranked results: deep pages cost a full ranking.
        if (page->cursor > max_offset)
          return respond(http::error_response(http::bad_request(
              "invalid_cursor", "cursor must be at most " + std::to_string(max_offset))));
        if (auto ok = http::check_text("q", ctx->query_or("q"), 256); !ok)
          return respond(http::error_response(ok.error()));
        auto type = ctx->query_or("type", "photos");
        search_request req{viewer_from(ctx->user), ctx->query_or("q"), type, page->cursor,
                           page->limit};
        b.call<search_result>(respond, req, [type = req.type](search_result& r) {
          json items = json::array();
          if (type == "users")
            for (auto& u : r.users)
              items.push_back({{"id", std::to_string(u.id)},
                               {"username", u.username},
                               {"display_name", u.display_name}});
          else if (type == "tags")
            for (auto& t : r.tags) items.push_back({{"tag", t.tag}, {"photos", t.photos}});
          else
            for (auto& c : r.photos) items.push_back(feed::card_json(c));
          return http::json_response(
              200, {{"type", type}, {"items", items}, {"next_cursor", cursor_json(r.next_cursor)}});
        });
      },
      read_opts);

  routes.add(
      verb::get, "/api/v1/tags/{tag}",
      [b](ctx_ptr ctx, http::responder respond) {
        auto page = http::parse_page(*ctx);
        if (!page) return respond(http::error_response(page.error()));
        if (auto ok = http::check_text("tag", ctx->params.at("tag"), 128); !ok)
          return respond(http::error_response(ok.error()));
        b.call<tag_result>(
            respond,
            tag_request{viewer_from(ctx->user), ctx->params.at("tag"), page->cursor, page->limit},
            [](tag_result& t) {
              json top = json::array();
              for (auto& u : t.top_uploaders)
                top.push_back(
                    {{"id", std::to_string(u.id)}, {"username", u.username}, {"photos", u.photos}});
              auto photos = feed::card_page_json(t.photos);
              return http::json_response(200, {{"tag", t.tag},
                                               {"photos_total", t.photos_total},
                                               {"items", photos["items"]},
                                               {"next_cursor", photos["next_cursor"]},
                                               {"top_uploaders", top}});
            });
      },
      read_opts);
}

}  // namespace pixhive::search
