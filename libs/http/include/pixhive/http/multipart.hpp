#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "pixhive/core/error.hpp"

namespace pixhive::http {

/// One part of a multipart/form-data body; `data` points into the body.
struct form_part {
  std::string name;
  std::string filename;
  std::string content_type;
  std::string_view data;
};

/// Bounds on a form: how many parts, how large each part's headers, and how large a part that
/// is not a file may be (files are bounded by the route's body limit).
struct multipart_limits {
  size_t max_parts = 100;
  size_t max_header_bytes = 8 * 1024;
  size_t max_field_bytes = 64 * 1024;
  /// Names of the parts that carry files.
  std::vector<std::string> file_fields;
};

/// Splits a multipart/form-data body (RFC 7578) using the boundary from `content_type`.
/// A missing boundary or a malformed body is 400 `malformed_multipart`; more parts than allowed
/// is 400 `too_many_parts`; a field or part header over its bound is 400 `field_too_long`.
result<std::vector<form_part>> parse_multipart(std::string_view body, std::string_view content_type,
                                               const multipart_limits& limits = {});

}  // namespace pixhive::http
