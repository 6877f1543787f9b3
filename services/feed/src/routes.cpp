#include "pixhive/feed/feed.hpp"
#include "pixhive/http/actor_client.hpp"
#include "pixhive/http/json.hpp"

namespace pixhive::feed {

using namespace contracts;
using http::bhttp::verb;
using ctx_ptr = std::shared_ptr<http::context>;

void add_routes(http::router& routes, caf::actor_system& sys, feed_actor service) {
  http::actor_client<feed_actor> b{sys, service};
  auto render = [](card_page& p) { return http::json_response(200, card_page_json(p)); };
  routes.add(
      verb::get, "/api/v1/feed/home",
      [b, render](ctx_ptr ctx, http::responder respond) {
        auto page = http::parse_page(*ctx);
        if (!page) return respond(http::error_response(page.error()));
        b.call<card_page>(
            respond, home_feed_request{viewer_from(ctx->user), page->cursor, page->limit}, render);
      },
      http::route_options{64 * 1024, http::access::user});
  routes.add(
      verb::get, "/api/v1/feed/public",
      [b, render](ctx_ptr ctx, http::responder respond) {
        auto page = http::parse_page(*ctx);
        if (!page) return respond(http::error_response(page.error()));
        b.call<card_page>(respond,
                          public_feed_request{viewer_from(ctx->user), page->cursor, page->limit},
                          render);
      },
      http::route_options{64 * 1024, http::access::optional_user});
}

}  // namespace pixhive::feed
