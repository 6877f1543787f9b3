#include "pixhive/http/actor_client.hpp"

#include <charconv>

namespace pixhive::http {

result<int64_t> parse_id(const std::string& text, const std::string& what) {
  int64_t v = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc{} || end != text.data() + text.size() || v <= 0)
    return bad_request("invalid_" + what, what + " must be a positive integer");
  return v;
}

result<page_params> parse_page(const context& ctx) {
  page_params page;
  if (auto cursor = ctx.query_or("cursor"); !cursor.empty()) {
    auto id = parse_id(cursor, "cursor");
    if (!id) return id.error();
    page.cursor = *id;
  }
  if (auto limit = ctx.query_or("limit"); !limit.empty()) {
    auto n = parse_id(limit, "limit");
    if (!n || *n > 100) return bad_request("invalid_limit", "limit must be 1..100");
    page.limit = static_cast<int32_t>(*n);
  }
  return page;
}

}  // namespace pixhive::http
