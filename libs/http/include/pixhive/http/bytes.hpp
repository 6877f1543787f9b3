#pragma once

#include <string>

#include "pixhive/http/types.hpp"

namespace pixhive::http {

/// How a stored blob may be cached by clients and proxies.
enum class cache_scope { public_immutable, private_revalidate };

/// Answers a GET for stored bytes: ETag (strong, from the content hash), If-None-Match → 304,
/// a single `Range: bytes=` → 206 (unsatisfiable → 416), Cache-Control and Content-Length.
/// Takes the bytes by value so that callers can move them in.
response serve_bytes(const request& req, std::string bytes, const std::string& content_type,
                     const std::string& sha256, cache_scope scope);

}  // namespace pixhive::http
