#include "pixhive/http/json.hpp"

namespace pixhive::http {

response json_response(unsigned status, const nlohmann::json& body) {
  response res{static_cast<bhttp::status>(status), 11};
  res.set(bhttp::field::content_type, "application/json");
  // A trailing newline keeps terminal output (curl) readable; JSON parsers ignore it.
  res.body() = body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
  return res;
}

response error_response(const caf::error& err) {
  auto p = to_problem(err);
  auto res =
      json_response(http_status(p.kind), {{"error", {{"code", p.code}, {"message", p.message}}}});
  if (p.retry_after > 0) res.set(bhttp::field::retry_after, std::to_string(p.retry_after));
  return res;
}

caf::error bad_request(std::string code, std::string message) {
  return make_error(errc::invalid_argument, std::move(code), std::move(message));
}

result<nlohmann::json> json_body(const context& ctx) {
  auto type = ctx.req[bhttp::field::content_type];
  auto semi = type.find(';');
  auto mime = type.substr(0, semi);
  while (!mime.empty() && mime.back() == ' ') mime.remove_suffix(1);
  if (!boost::beast::iequals(mime, "application/json"))
    return make_error(errc::unsupported_media_type, "unsupported_media_type",
                      "the request body must be application/json");
  auto body = nlohmann::json::parse(ctx.req.body(), nullptr, false);
  if (body.is_discarded())
    return bad_request("malformed_json", "the request body is not valid JSON");
  if (!body.is_object())
    return bad_request("malformed_json", "the request body must be a JSON object");
  return body;
}

result<std::optional<std::string>> string_field(const nlohmann::json& obj, const std::string& name,
                                                size_t max_len, bool required) {
  auto it = obj.find(name);
  if (it == obj.end() || it->is_null()) {
    if (required) return bad_request("missing_field", "the field '" + name + "' is required");
    return std::optional<std::string>{};
  }
  if (!it->is_string())
    return bad_request("invalid_field", "the field '" + name + "' must be a string");
  auto value = it->get<std::string>();
  if (value.size() > max_len)
    return bad_request("field_too_long", "the field '" + name + "' is longer than " +
                                             std::to_string(max_len) + " bytes");
  return std::optional<std::string>{std::move(value)};
}

}  // namespace pixhive::http
