// Fuzzes the Range and If-None-Match handling of serve_bytes (every blob download) on a fixed
// 1000-byte blob: a 206 must carry exactly the span its Content-Range names, a 200 the whole
// blob, and nothing else but 304 or 416 may come back.
#include <charconv>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "fuzz_check.hpp"
#include "pixhive/http/bytes.hpp"

namespace {

namespace bhttp = boost::beast::http;

const std::string sha256 = "5d41402abc4b2a76b9719d911017c592aaaabbbbccccddddeeeeffff00001111";

const std::string& blob() {
  static const std::string bytes = [] {
    std::string b(1000, '\0');
    for (size_t i = 0; i < b.size(); ++i) b[i] = static_cast<char>(i * 7 % 251);
    return b;
  }();
  return bytes;
}

// A header value as Beast's parser would hand it over: no line breaks or NULs, bounded length.
std::string header_value(std::string_view raw) {
  std::string out;
  for (char c : raw.substr(0, 4096))
    if (c != '\r' && c != '\n' && c != '\0') out += c;
  return out;
}

std::string_view field(const pixhive::http::response& res, bhttp::field name) {
  auto v = res[name];
  return {v.data(), v.size()};
}

size_t number(std::string_view s) {
  size_t n = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), n);
  check(ec == std::errc{} && p == s.data() + s.size(), "Content-Range holds plain numbers");
  return n;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  std::string_view input(reinterpret_cast<const char*>(data + 1), size - 1);
  uint8_t flags = data[0];
  pixhive::http::request req{bhttp::verb::get, "/api/v1/photos/1/original", 11};
  // Without a NUL separator the whole input is the Range header.
  auto sep = input.find('\0');
  auto range = header_value(input.substr(0, sep));
  auto inm = sep == std::string_view::npos ? std::string{} : header_value(input.substr(sep + 1));
  if (flags & 1) inm = "W/\"x\", \"" + sha256 + "\"";
  if (!range.empty()) req.set(bhttp::field::range, range);
  if (!inm.empty()) req.set(bhttp::field::if_none_match, inm);
  auto scope = flags & 2 ? pixhive::http::cache_scope::public_immutable
                         : pixhive::http::cache_scope::private_revalidate;
  auto res = pixhive::http::serve_bytes(req, blob(), "image/jpeg", sha256, scope);
  check(field(res, bhttp::field::etag) == "\"" + sha256 + "\"", "every answer carries the ETag");
  switch (res.result()) {
    case bhttp::status::ok:
      check(res.body() == blob(), "a 200 is the whole blob");
      break;
    case bhttp::status::partial_content: {
      check(!req[bhttp::field::range].empty(), "a 206 answers a Range header");
      auto cr = field(res, bhttp::field::content_range);
      check(cr.substr(0, 6) == "bytes ", "Content-Range is in bytes");
      auto dash = cr.find('-'), slash = cr.find('/');
      check(dash != std::string_view::npos && slash != std::string_view::npos && dash < slash,
            "Content-Range is first-last/size");
      auto first = number(cr.substr(6, dash - 6));
      auto last = number(cr.substr(dash + 1, slash - dash - 1));
      check(number(cr.substr(slash + 1)) == blob().size(), "Content-Range names the blob size");
      check(first <= last && last < blob().size(), "the span lies inside the blob");
      check(res.body().size() == last - first + 1, "the body is as long as the span");
      check(res.body() == blob().substr(first, last - first + 1), "the body is that span");
      break;
    }
    case bhttp::status::not_modified:
      check(!req[bhttp::field::if_none_match].empty(), "a 304 answers If-None-Match");
      check(res.body().empty(), "a 304 has no body");
      break;
    case bhttp::status::range_not_satisfiable:
      check(!req[bhttp::field::range].empty(), "a 416 answers a Range header");
      check(field(res, bhttp::field::content_range) == "bytes */1000", "a 416 names the blob size");
      check(res.body().empty(), "a 416 has no body");
      break;
    default:
      check(false, "the status is 200, 206, 304 or 416");
  }
  return 0;
}
