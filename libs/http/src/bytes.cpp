#include "pixhive/http/bytes.hpp"

#include <charconv>
#include <optional>

namespace pixhive::http {

namespace {

struct byte_range {
  size_t first;
  size_t last;  // inclusive
};

/// Parses one "bytes=a-b" / "bytes=a-" / "bytes=-n" range; nullopt when unsatisfiable.
/// Multiple ranges are answered with the whole body (allowed by RFC 9110).
std::optional<std::optional<byte_range>> parse_range(std::string_view h, size_t size) {
  if (h.substr(0, 6) != "bytes=" || h.find(',') != std::string_view::npos)
    return std::optional<byte_range>{};
  auto spec = h.substr(6);
  auto dash = spec.find('-');
  if (dash == std::string_view::npos) return std::optional<byte_range>{};
  auto num = [](std::string_view s, size_t& out) {
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
    return ec == std::errc{} && p == s.data() + s.size() && !s.empty();
  };
  size_t a = 0, b = 0;
  auto first = spec.substr(0, dash), second = spec.substr(dash + 1);
  if (first.empty()) {
    if (!num(second, b)) return std::optional<byte_range>{};
    if (b == 0 || size == 0) return std::nullopt;
    return std::optional<byte_range>{byte_range{size - std::min(b, size), size - 1}};
  }
  if (!num(first, a)) return std::optional<byte_range>{};
  if (a >= size) return std::nullopt;
  if (second.empty()) return std::optional<byte_range>{byte_range{a, size - 1}};
  if (!num(second, b) || b < a) return std::optional<byte_range>{};
  return std::optional<byte_range>{byte_range{a, std::min(b, size - 1)}};
}

}  // namespace

response serve_bytes(const request& req, std::string bytes, const std::string& content_type,
                     const std::string& sha256, cache_scope scope) {
  auto etag = "\"" + sha256 + "\"";
  auto cache = scope == cache_scope::public_immutable ? "public, max-age=31536000, immutable"
                                                      : "private, no-cache";
  auto base = [&](bhttp::status s) {
    response res{s, 11};
    res.set(bhttp::field::etag, etag);
    res.set(bhttp::field::cache_control, cache);
    res.set(bhttp::field::accept_ranges, "bytes");
    return res;
  };
  auto inm = req[bhttp::field::if_none_match];
  if (!inm.empty() && (inm == "*" || inm.find(etag) != std::string_view::npos))
    return base(bhttp::status::not_modified);
  auto range_header = req[bhttp::field::range];
  if (!range_header.empty()) {
    auto range = parse_range(range_header, bytes.size());
    if (!range) {
      auto res = base(bhttp::status::range_not_satisfiable);
      res.set(bhttp::field::content_range, "bytes */" + std::to_string(bytes.size()));
      return res;
    }
    if (*range) {
      auto [first, last] = **range;
      auto res = base(bhttp::status::partial_content);
      res.set(bhttp::field::content_type, content_type);
      res.set(bhttp::field::content_range, "bytes " + std::to_string(first) + "-" +
                                               std::to_string(last) + "/" +
                                               std::to_string(bytes.size()));
      res.body() = bytes.substr(first, last - first + 1);
      return res;
    }
  }
  auto res = base(bhttp::status::ok);
  res.set(bhttp::field::content_type, content_type);
  res.body() = std::move(bytes);
  return res;
}

}  // namespace pixhive::http
