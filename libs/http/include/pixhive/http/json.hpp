#pragma once

#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "pixhive/core/error.hpp"
#include "pixhive/http/types.hpp"

namespace pixhive::http {

/// A response with a JSON body.
response json_response(unsigned status, const nlohmann::json& body);

/// The one place where an error value becomes an HTTP response: status from its kind,
/// Retry-After when throttled, and the error itself, from which the server writes the body
/// {"error":{"code","message","request_id"}} once, when it sends the response (a 5xx says only
/// that the service failed; what the store or the other service said goes to the log).
response error_response(const caf::error& err);

/// Parses the request body as a JSON object. Wrong Content-Type → 415, malformed or not an
/// object → 400 `malformed_json`.
result<nlohmann::json> json_body(const context& ctx);

/// A string field of a JSON object. Missing (when required) → 400 `missing_field`, not a string →
/// 400 `invalid_field`, otherwise as check_text().
result<std::optional<std::string>> string_field(const nlohmann::json& obj, const std::string& name,
                                                size_t max_len, bool required = true);

/// Checks free text from a client (a caption, a query, a form field): well-formed UTF-8 (no
/// overlong forms or surrogates) → else 400 `invalid_utf8`; no control characters but tab and
/// newlines → else 400 `invalid_text`; at most `max_bytes` → else 400 `field_too_long`.
result<void> check_text(std::string_view name, std::string_view value, size_t max_bytes);

/// An error for a bad request parameter.
caf::error bad_request(std::string code, std::string message);

}  // namespace pixhive::http
