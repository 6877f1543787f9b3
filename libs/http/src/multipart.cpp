#include "pixhive/http/multipart.hpp"

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
    if (!boost::beast::iequals(header.substr(pos, key.size()), key) ||
        header.substr(pos + key.size(), 1) != "=")
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

result<std::vector<form_part>> parse_multipart(std::string_view body,
                                               std::string_view content_type) {
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
    auto headers_end = body.find("\r\n\r\n", pos);
    if (headers_end == std::string_view::npos) return malformed("part headers not terminated");
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
    parts.push_back(std::move(part));
    pos = next + 2 + delim.size();
  }
}

}  // namespace pixhive::http
