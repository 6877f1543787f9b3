#include "pixhive/auth/auth.hpp"
#include "pixhive/http/actor_client.hpp"
#include "pixhive/http/client_ip.hpp"
#include "pixhive/http/json.hpp"

namespace pixhive::auth {

using namespace contracts;
using http::bhttp::verb;
using nlohmann::json;

namespace {

constexpr size_t body_limit = 16 * 1024;

json private_user(const user_view& u) {
  return {{"id", std::to_string(u.id)},     {"username", u.username}, {"email", u.email},
          {"display_name", u.display_name}, {"bio", u.bio},           {"role", u.role},
          {"verified", u.verified},         {"disabled", u.disabled}, {"created_at", u.created_at}};
}

json public_user(const user_view& u) {
  return {{"id", std::to_string(u.id)},
          {"username", u.username},
          {"display_name", u.display_name},
          {"bio", u.bio},
          {"created_at", u.created_at}};
}

json tokens_json(const session_tokens& t) {
  json out{{"access_token", t.access_token},
           {"refresh_token", t.refresh_token},
           {"token_type", "Bearer"},
           {"expires_in", t.expires_in},
           {"user", private_user(t.user)}};
  if (!t.device_token.empty()) out["device_token"] = t.device_token;
  return out;
}

using binder = http::actor_client<auth_actor>;

/// Reads the named string fields of a JSON body; the first failure is the answer.
struct fields {
  json body;
  caf::error failure;

  std::string take(const char* name, size_t max_len) {
    if (failure) return {};
    auto v = http::string_field(body, name, max_len);
    if (!v) {
      failure = v.error();
      return {};
    }
    return **v;
  }

  std::optional<std::string> take_optional(const char* name, size_t max_len) {
    if (failure) return {};
    auto v = http::string_field(body, name, max_len, false);
    if (!v) {
      failure = v.error();
      return {};
    }
    return *v;
  }
};

/// A handler for a route with a JSON body: `parse(fields&, const context&)` builds the request
/// (the first bad field is the answer), the auth actor serves it, `render(Reply&)` answers.
template <class Reply, class Parse, class Render>
http::handler json_handler(binder b, Parse parse, Render render) {
  return [b, parse, render](std::shared_ptr<http::context> ctx, http::responder respond) {
    auto body = http::json_body(*ctx);
    if (!body) return respond(http::error_response(body.error()));
    fields f{std::move(*body), {}};
    auto req = parse(f, *ctx);
    if (f.failure) return respond(http::error_response(f.failure));
    b.call<Reply>(respond, std::move(req), render);
  };
}

/// Renders a user as its owner sees it, with `status`.
auto user_reply(unsigned status) {
  return [status](user_view& u) { return http::json_response(status, private_user(u)); };
}

http::response tokens_reply(session_tokens& t) {
  return http::json_response(200, tokens_json(t));
}

/// The web app's cookie for its refresh token.
constexpr const char* refresh_cookie = "pixhive_refresh";
/// The web app's cookie for its device token (a year: it only speeds up the owner's logins).
constexpr const char* device_cookie = "pixhive_device";
constexpr int64_t device_cookie_age = 365 * 24 * 3600;

/// True for the web app's calls: it sends this header, which a form or link from another site
/// cannot, so a cookie-authenticated call with it is no cross-site request forgery.
bool from_web_app(const http::context& ctx) {
  return ctx.req["X-PixHive-Web"] == "1";
}

/// The value of cookie `name` in the request ("" when absent).
std::string cookie(const http::request& req, std::string_view name) {
  std::string_view all = req[http::bhttp::field::cookie];
  while (!all.empty()) {
    auto end = all.find(';');
    auto pair = all.substr(0, end);
    while (!pair.empty() && pair.front() == ' ') pair.remove_prefix(1);
    if (pair.size() > name.size() && pair.substr(0, name.size()) == name &&
        pair[name.size()] == '=')
      return std::string(pair.substr(name.size() + 1));
    if (end == std::string_view::npos) break;
    all.remove_prefix(end + 1);
  }
  return {};
}

/// Sets (or with `max_age` 0 clears) the refresh cookie: HttpOnly so scripts never see it,
/// SameSite=Strict and only sent to the auth routes; Secure behind a TLS-terminating proxy.
void set_cookie(http::response& res, const http::context& ctx, const char* name,
                const std::string& token, int64_t max_age) {
  std::string c =
      std::string(name) + "=" + token +
      "; Path=/api/v1/auth; HttpOnly; SameSite=Strict; Max-Age=" + std::to_string(max_age);
  if (ctx.req["X-Forwarded-Proto"] == "https") c += "; Secure";
  res.insert(http::bhttp::field::set_cookie, c);
}

void set_refresh_cookie(http::response& res, const http::context& ctx, const std::string& token,
                        int64_t max_age) {
  set_cookie(res, ctx, refresh_cookie, token, max_age);
}

/// Answers a login or refresh: to the web app the refresh token goes in the cookie only.
auto session_reply(std::shared_ptr<http::context> ctx, std::chrono::seconds refresh_ttl) {
  return [ctx, refresh_ttl](session_tokens& t) {
    if (!from_web_app(*ctx)) return tokens_reply(t);
    auto token = std::move(t.refresh_token);
    auto device = std::move(t.device_token);
    t.refresh_token.clear();
    t.device_token.clear();
    auto res = tokens_reply(t);
    if (!device.empty()) set_cookie(res, *ctx, device_cookie, device, device_cookie_age);
    set_refresh_cookie(res, *ctx, token, refresh_ttl.count());
    return res;
  };
}

/// Refresh (or, with `end_session`, logout) with the refresh token from the body, or from the
/// cookie when the web app calls.
http::handler with_refresh_token(binder b, std::chrono::seconds refresh_ttl, bool end_session) {
  return
      [b, refresh_ttl, end_session](std::shared_ptr<http::context> ctx, http::responder respond) {
        auto body = http::json_body(*ctx);
        if (!body) return respond(http::error_response(body.error()));
        fields f{std::move(*body), {}};
        std::string token;
        if (from_web_app(*ctx)) {
          token = cookie(ctx->req, refresh_cookie);
          if (token.empty() && !end_session)
            return respond(http::error_response(
                make_error(errc::unauthorized, "not_logged_in", "no session: log in again")));
        } else {
          token = f.take("refresh_token", 256);
          if (f.failure) return respond(http::error_response(f.failure));
        }
        if (end_session) {
          auto done_reply = [ctx](done&) {
            http::response res{http::bhttp::status::no_content, 11};
            if (from_web_app(*ctx)) set_refresh_cookie(res, *ctx, "", 0);
            return res;
          };
          if (token.empty()) {
            done d;
            return respond(done_reply(d));
          }
          return b.call<done>(respond, logout_request{std::move(token)}, done_reply);
        }
        b.call<session_tokens>(respond, refresh_request{std::move(token)},
                               session_reply(ctx, refresh_ttl));
      };
}

}  // namespace

void add_routes(http::router& routes, caf::actor_system& sys, auth_actor service,
                profile_sources counts, std::chrono::seconds refresh_ttl) {
  binder b{sys, service};
  http::route_options body_opts{body_limit, http::access::anyone};
  http::route_options user_opts{body_limit, http::access::user};
  http::route_options admin_opts{body_limit, http::access::admin};
  auto limited = [](http::route_options o, const char* kind) {
    o.limit = kind;
    return o;
  };
  using ctx_ptr = std::shared_ptr<http::context>;
  using ctx_ref = const http::context&;

  routes.add(verb::post, "/api/v1/auth/signup",
             json_handler<user_view>(
                 b,
                 [](fields& f, ctx_ref) {
                   return signup_request{f.take("username", 64), f.take("email", 254),
                                         f.take("password", 1024)};
                 },
                 user_reply(201)),
             limited(body_opts, "signup"));

  routes.add(verb::post, "/api/v1/auth/verify",
             json_handler<user_view>(
                 b,
                 [](fields& f, ctx_ref) {
                   return verify_request{f.take("username", 64), f.take("code", 16)};
                 },
                 user_reply(200)),
             limited(body_opts, "verify"));

  routes.add(verb::post, "/api/v1/auth/resend",
             json_handler<done>(
                 b, [](fields& f, ctx_ref) { return resend_request{f.take("username", 64)}; },
                 [](done&) {
                   return http::json_response(202, {{"status", "sent_if_pending"}});
                 }),
             limited(body_opts, "resend"));

  routes.add(
      verb::post, "/api/v1/auth/reset-request",
      json_handler<done>(
          b,
          [](fields& f, ctx_ref ctx) {
            return request_reset_request{f.take("email", 254), http::client_key(ctx.client_ip)};
          },
          [](done&) {
            return http::json_response(202, {{"status", "sent_if_known"}});
          }),
      limited(body_opts, "reset"));

  routes.add(
      verb::post, "/api/v1/auth/reset",
      json_handler<done>(
          b,
          [](fields& f, ctx_ref) {
            return reset_password_request{f.take("token", 128), f.take("new_password", 1024)};
          },
          [](done&) {
            return http::response{http::bhttp::status::no_content, 11};
          }),
      limited(body_opts, "verify"));

  routes.add(
      verb::post, "/api/v1/auth/login",
      [b, refresh_ttl](ctx_ptr ctx, http::responder respond) {
        auto body = http::json_body(*ctx);
        if (!body) return respond(http::error_response(body.error()));
        fields f{std::move(*body), {}};
        auto device = from_web_app(*ctx) ? cookie(ctx->req, device_cookie)
                                         : f.take_optional("device_token", 128).value_or("");
        login_request req{f.take("login", 254), f.take("password", 1024),
                          http::client_key(ctx->client_ip), std::move(device)};
        if (f.failure) return respond(http::error_response(f.failure));
        b.call<session_tokens>(respond, std::move(req), session_reply(ctx, refresh_ttl));
      },
      limited(body_opts, "login"));

  routes.add(verb::post, "/api/v1/auth/refresh", with_refresh_token(b, refresh_ttl, false),
             body_opts);

  routes.add(verb::post, "/api/v1/auth/logout", with_refresh_token(b, refresh_ttl, true),
             body_opts);

  routes.add(
      verb::post, "/api/v1/auth/logout-all",
      [b](ctx_ptr ctx, http::responder respond) {
        b.call<done>(respond, logout_all_request{ctx->user->user_id}, [ctx](done&) {
          http::response res{http::bhttp::status::no_content, 11};
          if (from_web_app(*ctx)) set_refresh_cookie(res, *ctx, "", 0);
          return res;
        });
      },
      user_opts);

  routes.add(
      verb::post, "/api/v1/users/me/password",
      [b, refresh_ttl](ctx_ptr ctx, http::responder respond) {
        auto body = http::json_body(*ctx);
        if (!body) return respond(http::error_response(body.error()));
        fields f{std::move(*body), {}};
        change_password_request req{ctx->user->user_id, f.take("current_password", 1024),
                                    f.take("new_password", 1024)};
        if (f.failure) return respond(http::error_response(f.failure));
        b.call<session_tokens>(respond, std::move(req), session_reply(ctx, refresh_ttl));
      },
      limited(user_opts, "login"));

  routes.add(
      verb::get, "/api/v1/users/me",
      [b](ctx_ptr ctx, http::responder respond) {
        b.call<user_view>(respond, get_user_request{ctx->user->user_id}, user_reply(200));
      },
      user_opts);

  routes.add(verb::patch, "/api/v1/users/me",
             json_handler<user_view>(
                 b,
                 [](fields& f, ctx_ref ctx) {
                   auto display_name = f.take_optional("display_name", 64);
                   auto bio = f.take_optional("bio", 500);
                   return update_profile_request{ctx.user->user_id, display_name.has_value(),
                                                 display_name.value_or(""), bio.has_value(),
                                                 bio.value_or("")};
                 },
                 user_reply(200)),
             user_opts);

  routes.add(
      verb::get, "/api/v1/users/{username}",
      [&sys, service, counts](ctx_ptr ctx, http::responder respond) {
        const auto& name = ctx->params.at("username");
        if (name.size() > 64)
          return respond(
              http::error_response(make_error(errc::not_found, "user_not_found", "no such user")));
        auto who = viewer_from(ctx->user);
        ask(
            sys, service,
            [&sys, counts, who, respond](user_view& u) {
              // One graph and one media request; a service that fails leaves its counts out.
              auto body = std::make_shared<json>(public_user(u));
              auto finish = [respond, body] { respond(http::json_response(200, *body)); };
              auto with_photos = [&sys, counts, who, body, finish, name = u.username] {
                if (!counts.media) return finish();
                ask(
                    sys, counts.media,
                    [body, finish](photo_count& c) {
                      (*body)["photos"] = c.photos;
                      finish();
                    },
                    [finish](caf::error&) { finish(); }, photo_count_request{name, who});
              };
              if (!counts.graph) return with_photos();
              ask(
                  sys, counts.graph,
                  [body, with_photos, who](follow_state& s) {
                    (*body)["followers"] = s.followers;
                    (*body)["following"] = s.following_count;
                    if (who.user_id) (*body)["followed_by_me"] = s.following;
                    with_photos();
                  },
                  [with_photos](caf::error&) { with_photos(); },
                  follow_counts_request{u.id, u.username, who.user_id});
            },
            [respond](caf::error& e) { respond(http::error_response(e)); },
            get_profile_request{name});
      },
      http::route_options{64 * 1024, http::access::optional_user});

  routes.add(
      verb::get, "/api/v1/admin/users",
      [b](ctx_ptr ctx, http::responder respond) {
        auto page = http::parse_page(*ctx);
        if (!page) return respond(http::error_response(page.error()));
        list_users_request req{page->cursor, page->limit};
        b.call<user_page>(respond, req, [](user_page& page) {
          json users = json::array();
          for (const auto& u : page.users) users.push_back(private_user(u));
          auto next = page.next_after_id ? json(std::to_string(page.next_after_id)) : json(nullptr);
          return http::json_response(200, {{"users", users}, {"next_cursor", next}});
        });
      },
      admin_opts);

  for (bool disable : {true, false}) {
    routes.add(
        verb::post, std::string("/api/v1/admin/users/{id}/") + (disable ? "disable" : "enable"),
        [b, disable](ctx_ptr ctx, http::responder respond) {
          auto id = http::parse_id(ctx->params.at("id"), "id");
          if (!id) return respond(http::error_response(id.error()));
          b.call<user_view>(respond, set_disabled_request{*id, disable}, user_reply(200));
        },
        admin_opts);
  }
}

}  // namespace pixhive::auth
