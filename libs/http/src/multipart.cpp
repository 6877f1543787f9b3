#include "pixhive/http/multipart.hpp"

#include <algorithm>

#include <boost/beast/core/string.hpp>

namespace pixhive::http {

namespace {

caf::error malformed(std::string why) {
  return make_error(errc::invalid_argument, "malformed_multipart",
                    "malformed multipart body: " + why);
}

/// The value of `key=` in a header's parameters (quoted or bare).
std::string param(std::string_view header, std::string_view key) {
  size_t pos = 0;
  while ((pos = header.find(';', pos)) != std::string_view::npos) {
    ++pos;
    while (pos < header.size() && header[pos] == ' ') ++pos;
    // The '=' first: Boost 1.81's iequals reads one byte past a mismatch in its last byte, so
    // it is only called where a byte follows (found by the multipart fuzzer).
    if (pos + key.size() >= header.size() || header[pos + key.size()] != '=' ||
        !boost::beast::iequals(header.substr(pos, key.size()), key))
      continue;
    auto v = header.substr(pos + key.size() + 1);
    if (!v.empty() && v.front() == '"') {
      auto end = v.find('"', 1);
      return std::string(v.substr(1, end == std::string_view::npos ? v.size() - 1 : end - 1));
    }
    return std::string(v.substr(0, v.find(';')));
  }
  return {};
}

}  // namespace

result<std::vector<form_part>> parse_multipart(std::string_view body, std::string_view content_type,
                                               const multipart_limits& limits) {
  auto boundary = param(content_type, "boundary");
  if (boundary.empty() || boundary.size() > 200) return malformed("no boundary in Content-Type");
  std::string delim = "--" + boundary;
  auto pos = body.find(delim);
  if (pos == std::string_view::npos) return malformed("boundary not found");
  std::vector<form_part> parts;
  pos += delim.size();
  for (;;) {
    if (body.substr(pos, 2) == "--") return parts;  // closing delimiter
    if (body.substr(pos, 2) != "\r\n") return malformed("bad delimiter line");
    pos += 2;
    if (parts.size() >= limits.max_parts)
      return make_error(errc::invalid_argument, "too_many_parts",
                        "a form may have at most " + std::to_string(limits.max_parts) + " parts");
    auto headers_end = body.find("\r\n\r\n", pos);
    if (headers_end == std::string_view::npos) return malformed("part headers not terminated");
    if (headers_end - pos > limits.max_header_bytes)
      return make_error(
          errc::invalid_argument, "field_too_long",
          "a part's headers are longer than " + std::to_string(limits.max_header_bytes) + " bytes");
    form_part part;
    auto headers = body.substr(pos, headers_end - pos);
    size_t line_start = 0;
    while (line_start <= headers.size()) {
      auto line_end = headers.find("\r\n", line_start);
      if (line_end == std::string_view::npos) line_end = headers.size();
      auto line = headers.substr(line_start, line_end - line_start);
      auto colon = line.find(':');
      if (colon != std::string_view::npos) {
        auto name = line.substr(0, colon);
        auto value = line.substr(colon + 1);
        while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
        if (boost::beast::iequals(name, "Content-Disposition")) {
          part.name = param(value, "name");
          part.filename = param(value, "filename");
        } else if (boost::beast::iequals(name, "Content-Type")) {
          part.content_type = std::string(value);
        }
      }
      line_start = line_end + 2;
    }
    auto data_start = headers_end + 4;
    auto next = body.find("\r\n" + delim, data_start);
    if (next == std::string_view::npos) return malformed("closing boundary missing");
    part.data = body.substr(data_start, next - data_start);
    if (part.name.empty()) return malformed("part without a name");
    bool is_file = std::find(limits.file_fields.begin(), limits.file_fields.end(), part.name) !=
                   limits.file_fields.end();
    if (!is_file && part.data.size() > limits.max_field_bytes)
      return make_error(errc::invalid_argument, "field_too_long",
                        "the form field '" + part.name.substr(0, 64) + "' is longer than " +
                            std::to_string(limits.max_field_bytes) + " bytes");
    parts.push_back(std::move(part));
    pos = next + 2 + delim.size();
  }
}

}  // namespace pixhive::http
