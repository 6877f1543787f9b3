// Who is calling, and whether they may, is decided from the header alone: a refused client never
// gets to send (or make us read) its body.
#include <boost/beast/core/string.hpp>

#include "middleware.hpp"
#include "pixhive/core/ids.hpp"

namespace pixhive::http {

namespace {

caf::error token_revoked() {
  return make_error(errc::unauthorized, "token_revoked",
                    "this token was revoked (the account logged out everywhere, changed its "
                    "password or was disabled): log in again");
}

class authentication final : public middleware {
 public:
  authentication(const server_config& cfg, ticket_book& tickets) : cfg_(cfg), tickets_(tickets) {}

  caf::error on_request(exchange& x, const request& req) override {
    x.user.reset();
    if (!x.route || x.route->options.who == access::anyone) return {};
    const auto& opts = x.route->options;
    std::string_view header = req[bhttp::field::authorization];
    if (header.empty() && opts.ticket_in_query) {
      auto query = parse_query(x.query);
      if (auto it = query.find("ticket"); it != query.end()) {
        auto claims = tickets_.redeem(it->second, x.path, cfg_.jwt_key, unix_now());
        if (!claims) return claims.error();
        if (cfg_.revoked->revoked(*claims)) return token_revoked();
        x.user = std::move(*claims);
        return {};
      }
    }
    bool has_bearer = header.size() >= 7 && boost::beast::iequals(header.substr(0, 7), "Bearer ");
    if (!has_bearer) {
      if (opts.who == access::optional_user) return {};
      return make_error(errc::unauthorized, "unauthorized",
                        "an access token is required (Authorization: Bearer …)");
    }
    auto claims = jwt::verify(std::string_view(header.data() + 7, header.size() - 7), cfg_.jwt_key,
                              unix_now());
    if (!claims) return claims.error();
    if (cfg_.revoked->revoked(*claims)) return token_revoked();
    if (opts.who == access::admin && claims->role != "admin")
      return make_error(errc::forbidden, "forbidden", "admin role required");
    x.user = std::move(*claims);
    return {};
  }

 private:
  const server_config& cfg_;
  ticket_book& tickets_;
};

}  // namespace

std::unique_ptr<middleware> make_authentication(const server_config& cfg, ticket_book& tickets) {
  return std::make_unique<authentication>(cfg, tickets);
}

}  // namespace pixhive::http
