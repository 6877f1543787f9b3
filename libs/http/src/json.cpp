#include "pixhive/http/json.hpp"

#include "pixhive/core/json.hpp"

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
  response res{static_cast<bhttp::status>(http_status(p.kind)), 11};
  res.set(bhttp::field::content_type, "application/json");
  if (p.retry_after > 0) res.set(bhttp::field::retry_after, std::to_string(p.retry_after));
  res.error = std::move(p);
  return res;
}

void answer::deliver(responder respond) && {
  if (auto* res = std::get_if<response>(&value_)) return respond(std::move(*res));
  if (auto* err = std::get_if<caf::error>(&value_)) return respond(error_response(*err));
  std::get<deferred>(value_).start(std::move(respond));
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
  auto body = parse_json(ctx.req.body());
  if (!body) {
    if (to_problem(body.error()).code == "json_too_deep") return body.error();
    return bad_request("malformed_json", "the request body is not valid JSON");
  }
  if (!body->is_object())
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
  if (auto ok = check_text(name, value, max_len); !ok) return ok.error();
  return std::optional<std::string>{std::move(value)};
}

namespace {

/// Length of the well-formed UTF-8 sequence at the start of `s`, 0 when there is none.
size_t utf8_sequence(std::string_view s) {
  auto b = [&](size_t i) { return static_cast<unsigned char>(s[i]); };
  auto cont = [&](size_t i) { return i < s.size() && (b(i) & 0xC0) == 0x80; };
  unsigned char c = b(0);
  if (c < 0x80) return 1;
  if (c >= 0xC2 && c <= 0xDF) return cont(1) ? 2 : 0;
  if (c >= 0xE0 && c <= 0xEF) {
    if (!cont(1) || !cont(2)) return 0;
    if (c == 0xE0 && b(1) < 0xA0) return 0;   // overlong
    if (c == 0xED && b(1) >= 0xA0) return 0;  // UTF-16 surrogate
    return 3;
  }
  if (c >= 0xF0 && c <= 0xF4) {
    if (!cont(1) || !cont(2) || !cont(3)) return 0;
    if (c == 0xF0 && b(1) < 0x90) return 0;   // overlong
    if (c == 0xF4 && b(1) >= 0x90) return 0;  // past U+10FFFF
    return 4;
  }
  return 0;
}

}  // namespace

result<void> check_text(std::string_view name, std::string_view value, size_t max_bytes) {
  auto shown = std::string(name.substr(0, 64));
  if (value.size() > max_bytes)
    return bad_request("field_too_long", "the field '" + shown + "' is longer than " +
                                             std::to_string(max_bytes) + " bytes");
  for (size_t i = 0; i < value.size();) {
    auto n = utf8_sequence(value.substr(i));
    if (n == 0)
      return bad_request("invalid_utf8", "the field '" + shown + "' is not valid UTF-8 text");
    unsigned char c = static_cast<unsigned char>(value[i]);
    if (n == 1 && (c < 0x20 || c == 0x7f) && c != '\t' && c != '\n' && c != '\r')
      return bad_request("invalid_text", "the field '" + shown + "' contains control characters");
    i += n;
  }
  return caf::unit;
}

}  // namespace pixhive::http
