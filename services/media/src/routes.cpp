#include "pixhive/core/log.hpp"
#include "pixhive/http/actor_client.hpp"
#include "pixhive/http/bytes.hpp"
#include "pixhive/http/json.hpp"
#include "pixhive/http/multipart.hpp"
#include "pixhive/media/media.hpp"

namespace pixhive::media {

using namespace contracts;
using http::bhttp::verb;
using nlohmann::json;
using ctx_ptr = std::shared_ptr<http::context>;

namespace {

using social_map = std::map<int64_t, photo_social>;

json detected_json(const std::vector<detected>& list) {
  json out = json::array();
  for (const auto& d : list)
    out.push_back({{"label", d.label},
                   {"confidence", d.confidence},
                   {"box", {{"x", d.x}, {"y", d.y}, {"width", d.width}, {"height", d.height}}}});
  return out;
}

json photo_json(const photo_view& p, const social_map* social = nullptr) {
  auto base = "/api/v1/photos/" + std::to_string(p.id);
  json variants = json::array();
  for (const auto& v : p.variants)
    variants.push_back({{"name", v.name},
                        {"content_type", v.content_type},
                        {"size", v.size},
                        {"width", v.width},
                        {"height", v.height},
                        {"url", base + "/variants/" + v.name}});
  json j{{"id", std::to_string(p.id)},
         {"owner", {{"id", std::to_string(p.owner_id)}, {"username", p.owner_username}}},
         {"caption", p.caption},
         {"hashtags", p.hashtags},
         {"key", p.key.empty() ? json(nullptr) : json(p.key)},
         {"visibility", p.visibility},
         {"content_type", p.content_type},
         {"size", p.size},
         {"width", p.width},
         {"height", p.height},
         {"sha256", p.sha256},
         {"status", p.status},
         {"status_reason", p.status_reason.empty() ? json(nullptr) : json(p.status_reason)},
         {"created_at", p.created_at},
         {"original_url", base + "/original"},
         {"variants", variants},
         {"tags", p.auto_tags},
         {"objects", detected_json(p.objects)},
         {"faces", detected_json(p.faces)},
         {"text", p.text},
         {"hash", p.phash.empty() ? json(nullptr) : json(p.phash)},
         {"duplicate_of", p.duplicate_of ? json(std::to_string(p.duplicate_of)) : json(nullptr)}};
  if (social) {
    auto it = social->find(p.id);
    auto found = it != social->end();
    j["likes"] = found ? it->second.likes : 0;
    j["comments"] = found ? it->second.comments : 0;
    j["liked_by_me"] = found && it->second.liked_by_me;
  }
  return j;
}

/// Answers with `render(social)`, where `social` holds the graph service's figures for `ids`
/// (one request per response), or is null without a graph service or when it fails.
template <class Render>
void with_social(caf::actor_system& sys, const graph_actor& social, const viewer& who,
                 std::vector<int64_t> ids, http::responder respond, Render render) {
  if (!social) return respond(render(nullptr));
  ask(
      sys, social,
      [respond, render](photo_social_list& l) {
        social_map m;
        for (auto& s : l.items) m[s.photo_id] = s;
        respond(render(&m));
      },
      [respond, render](caf::error& e) {
        log::warn("social_unavailable", {{"error", to_problem(e).message}});
        respond(render(nullptr));
      },
      photo_social_request{who, std::move(ids)});
}

viewer viewer_of(const http::context& ctx) {
  return viewer_from(ctx.user);
}

using binder = http::actor_client<media_actor>;

/// Builds an upload request from a multipart form or a raw image body.
result<upload_request> read_upload(http::context& ctx) {
  upload_request req;
  req.who = viewer_of(ctx);
  auto type = std::string(ctx.req[http::bhttp::field::content_type]);
  auto mime = type.substr(0, type.find(';'));
  if (boost::beast::iequals(mime, "multipart/form-data")) {
    auto parts = http::parse_multipart(ctx.req.body(), type, {.file_fields = {"file"}});
    if (!parts) return parts.error();
    bool have_file = false;
    for (auto& p : *parts) {
      if (p.name == "file") {
        req.bytes.assign(p.data);
        have_file = true;
      } else if (p.name == "caption") {
        req.caption.assign(p.data);
      } else if (p.name == "key") {
        req.key.assign(p.data);
      } else if (p.name == "visibility") {
        req.visibility.assign(p.data);
      }
    }
    if (!have_file) return http::bad_request("missing_field", "the form needs a 'file' part");
  } else if (mime.rfind("image/", 0) == 0 ||
             boost::beast::iequals(mime, "application/octet-stream")) {
    req.bytes = std::move(ctx.req.body());
    req.caption = ctx.query_or("caption");
    req.key = ctx.query_or("key");
    req.visibility = ctx.query_or("visibility", "public");
  } else {
    return make_error(errc::unsupported_media_type, "unsupported_media_type",
                      "upload as multipart/form-data (field 'file') or as a raw image/* body");
  }
  // Length rules (caption_too_long, …) are the service's; here only what no field may be.
  for (auto [name, value] : {std::pair<const char*, const std::string*>{"caption", &req.caption},
                             {"key", &req.key},
                             {"visibility", &req.visibility}})
    if (auto ok = http::check_text(name, *value, 64 * 1024); !ok) return ok.error();
  return req;
}

json cache_json(const cache_stats& s) {
  auto lookups = s.hits + s.misses;
  return {{"items", s.items},
          {"bytes", s.bytes},
          {"capacity_mb", s.capacity_mb},
          {"policy", s.policy},
          {"hits", s.hits},
          {"misses", s.misses},
          {"hit_rate", lookups ? static_cast<double>(s.hits) / static_cast<double>(lookups) : 0.0},
          {"evictions", s.evictions}};
}

json moderation_json(const moderation_item& m) {
  return {{"photo_id", std::to_string(m.photo_id)},
          {"photo_url", "/api/v1/photos/" + std::to_string(m.photo_id)},
          {"owner", {{"id", std::to_string(m.owner_id)}, {"username", m.owner_username}}},
          {"verdict", m.verdict},
          {"scores",
           {{"drawing", m.drawing},
            {"hentai", m.hentai},
            {"neutral", m.neutral},
            {"porn", m.porn},
            {"sexy", m.sexy}}},
          {"state", m.state},
          {"created_at", m.created_at},
          {"decided_by", m.decided_by ? json{{"id", std::to_string(m.decided_by)},
                                             {"username", m.decided_by_username}}
                                      : json(nullptr)},
          {"decided_at", m.decided_at ? json(m.decided_at) : json(nullptr)}};
}

void add_moderation_routes(http::router& routes, const binder& b) {
  http::route_options admin_opts{16 * 1024, http::access::admin};
  routes.add(
      verb::get, "/api/v1/admin/moderation",
      [b](ctx_ptr ctx, http::responder respond) {
        auto page = http::parse_page(*ctx);
        if (!page) return respond(http::error_response(page.error()));
        moderation_queue_request req{ctx->query_or("state", "pending"), page->cursor, page->limit,
                                     viewer_of(*ctx)};
        b.call<moderation_queue>(respond, std::move(req), [](moderation_queue& q) {
          json items = json::array();
          for (const auto& m : q.items) items.push_back(moderation_json(m));
          auto next = q.next_before_id ? json(std::to_string(q.next_before_id)) : json(nullptr);
          return http::json_response(
              200, {{"items", items}, {"pending", q.pending}, {"next_cursor", next}});
        });
      },
      admin_opts);
  for (const char* decision : {"approve", "reject"})
    routes.add(
        verb::post, std::string("/api/v1/admin/moderation/{id}/") + decision,
        [b, decision](ctx_ptr ctx, http::responder respond) {
          auto id = http::parse_id(ctx->params.at("id"), "id");
          if (!id) return respond(http::error_response(id.error()));
          b.call<moderation_item>(
              respond, moderation_decision_request{*id, decision, viewer_of(*ctx)},
              [](moderation_item& m) { return http::json_response(200, moderation_json(m)); });
        },
        admin_opts);
}

void add_admin_routes(http::router& routes, const binder& b) {
  add_moderation_routes(routes, b);
  http::route_options admin_opts{16 * 1024, http::access::admin};
  auto render_cache = [](cache_stats& s) { return http::json_response(200, cache_json(s)); };
  routes.add(
      verb::get, "/api/v1/admin/cache",
      [b, render_cache](ctx_ptr, http::responder respond) {
        b.call<cache_stats>(respond, cache_stats_request{}, render_cache);
      },
      admin_opts);
  routes.add(
      verb::put, "/api/v1/admin/cache",
      [b, render_cache](ctx_ptr ctx, http::responder respond) {
        auto body = http::json_body(*ctx);
        if (!body) return respond(http::error_response(body.error()));
        auto cap = body->find("capacity_mb");
        auto pol = body->find("policy");
        if (cap == body->end() || !cap->is_number_integer())
          return respond(http::error_response(
              http::bad_request("invalid_field", "capacity_mb must be an integer")));
        if (pol == body->end() || !pol->is_string())
          return respond(http::error_response(
              http::bad_request("invalid_field", "policy must be lru or random")));
        b.call<cache_stats>(respond,
                            configure_cache_request{cap->get<int64_t>(), pol->get<std::string>()},
                            render_cache);
      },
      admin_opts);
  routes.add(
      verb::delete_, "/api/v1/admin/cache",
      [b, render_cache](ctx_ptr, http::responder respond) {
        b.call<cache_stats>(respond, clear_cache_request{}, render_cache);
      },
      admin_opts);
  routes.add(
      verb::get, "/api/v1/admin/stats",
      [b](ctx_ptr, http::responder respond) {
        b.call<media_stats>(respond, media_stats_request{}, [](media_stats& s) {
          json by_status = json::object();
          for (auto& c : s.by_status) by_status[c.status] = c.count;
          return http::json_response(200, {{"photos", s.photos},
                                           {"bytes_stored", s.bytes},
                                           {"by_status", by_status},
                                           {"uploads_last_hour", s.uploads_last_hour},
                                           {"uploads_last_day", s.uploads_last_day}});
        });
      },
      admin_opts);
}

}  // namespace

void add_routes(http::router& routes, caf::actor_system& sys, media_actor service,
                const media_config& cfg, graph_actor social) {
  binder b{sys, service};
  add_admin_routes(routes, b);
  http::route_options upload_opts{cfg.max_upload_bytes, http::access::user};
  upload_opts.limit = "upload";
  http::route_options read_opts{64 * 1024, http::access::optional_user};
  http::route_options user_opts{64 * 1024, http::access::user};

  routes.add(
      verb::post, "/api/v1/photos",
      [b](ctx_ptr ctx, http::responder respond) {
        auto req = read_upload(*ctx);
        if (!req) return respond(http::error_response(req.error()));
        b.call<photo_view>(respond, std::move(*req),
                           [](photo_view& p) { return http::json_response(201, photo_json(p)); });
      },
      upload_opts);

  // One photo's record, with its social figures for `who`.
  auto ask_photo = [&sys, service, social](auto req, const viewer& who, http::responder respond) {
    ask(
        sys, service,
        [&sys, social, who, respond](photo_view& p) {
          with_social(sys, social, who, {p.id}, respond, [p](const social_map* m) {
            return http::json_response(200, photo_json(p, m));
          });
        },
        [respond](caf::error& e) { respond(http::error_response(e)); }, std::move(req));
  };

  routes.add(
      verb::get, "/api/v1/photos/{id}",
      [ask_photo](ctx_ptr ctx, http::responder respond) {
        auto id = http::parse_id(ctx->params.at("id"), "id");
        if (!id) return respond(http::error_response(id.error()));
        auto who = viewer_of(*ctx);
        ask_photo(get_photo_request{*id, who}, who, respond);
      },
      read_opts);

  auto serve_blob = [b](ctx_ptr ctx, http::responder respond, std::string variant) {
    auto id = http::parse_id(ctx->params.at("id"), "id");
    if (!id) return respond(http::error_response(id.error()));
    b.call<blob_reply>(
        respond, get_blob_request{*id, std::move(variant), viewer_of(*ctx)}, [ctx](blob_reply& r) {
          return http::serve_bytes(ctx->req, std::move(r.bytes), r.content_type, r.sha256,
                                   r.is_public ? http::cache_scope::public_immutable
                                               : http::cache_scope::private_revalidate);
        });
  };
  routes.add(
      verb::get, "/api/v1/photos/{id}/original",
      [serve_blob](ctx_ptr ctx, http::responder respond) {
        serve_blob(ctx, std::move(respond), "");
      },
      read_opts);
  routes.add(
      verb::get, "/api/v1/photos/{id}/variants/{name}",
      [serve_blob](ctx_ptr ctx, http::responder respond) {
        auto name = ctx->params.at("name");
        serve_blob(ctx, std::move(respond), std::move(name));
      },
      read_opts);

  routes.add(
      verb::delete_, "/api/v1/photos/{id}",
      [b](ctx_ptr ctx, http::responder respond) {
        auto id = http::parse_id(ctx->params.at("id"), "id");
        if (!id) return respond(http::error_response(id.error()));
        b.call<done>(respond, delete_photo_request{*id, viewer_of(*ctx)}, [](done&) {
          return http::response{http::bhttp::status::no_content, 11};
        });
      },
      user_opts);

  routes.add(
      verb::post, "/api/v1/photos/{id}/retry",
      [b](ctx_ptr ctx, http::responder respond) {
        auto id = http::parse_id(ctx->params.at("id"), "id");
        if (!id) return respond(http::error_response(id.error()));
        b.call<photo_view>(respond, retry_photo_request{*id, viewer_of(*ctx)},
                           [](photo_view& p) { return http::json_response(202, photo_json(p)); });
      },
      user_opts);

  routes.add(
      verb::get, "/api/v1/users/{username}/photos",
      [&sys, service, social](ctx_ptr ctx, http::responder respond) {
        auto page = http::parse_page(*ctx);
        if (!page) return respond(http::error_response(page.error()));
        list_photos_request req{ctx->params.at("username"), page->cursor, page->limit,
                                viewer_of(*ctx)};
        auto who = req.who;
        ask(
            sys, service,
            [&sys, social, who, respond](photo_page& page) {
              std::vector<int64_t> ids;
              for (const auto& p : page.photos) ids.push_back(p.id);
              with_social(sys, social, who, std::move(ids), respond, [page](const social_map* m) {
                json photos = json::array();
                for (const auto& p : page.photos) photos.push_back(photo_json(p, m));
                auto next =
                    page.next_before_id ? json(std::to_string(page.next_before_id)) : json(nullptr);
                return http::json_response(200, {{"photos", photos}, {"next_cursor", next}});
              });
            },
            [respond](caf::error& e) { respond(http::error_response(e)); }, std::move(req));
      },
      read_opts);

  routes.add(
      verb::get, "/api/v1/users/{username}/photos/by-key/{key}",
      [ask_photo](ctx_ptr ctx, http::responder respond) {
        auto who = viewer_of(*ctx);
        ask_photo(photo_by_key_request{ctx->params.at("username"), ctx->params.at("key"), who}, who,
                  respond);
      },
      read_opts);
}

}  // namespace pixhive::media
