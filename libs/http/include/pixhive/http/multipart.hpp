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

/// Splits a multipart/form-data body (RFC 7578) using the boundary from `content_type`.
/// A missing boundary or a malformed body is 400 `malformed_multipart`.
result<std::vector<form_part>> parse_multipart(std::string_view body,
                                               std::string_view content_type);

}  // namespace pixhive::http
