#pragma once

#include <cstdint>
#include <string>

#include <caf/error.hpp>
#include <caf/expected.hpp>

namespace pixhive {

/// The kinds of failure a service reports; each maps to exactly one HTTP status.
enum class errc : uint8_t {
  invalid_argument = 1,
  unauthorized,
  forbidden,
  not_found,
  method_not_allowed,
  conflict,
  payload_too_large,
  unsupported_media_type,
  unprocessable,
  too_many_requests,
  unavailable,
  internal,
};

/// The CAF error category of PixHive's own errors.
inline constexpr caf::atom_value error_category = caf::atom("pixhive");

/// Builds an error value: `code` is the stable machine-readable name ("username_taken"),
/// `message` is for humans, `retry_after` (seconds) is set for throttling errors.
caf::error make_error(errc kind, std::string code, std::string message, int64_t retry_after = 0);

/// An error unpacked for a client: what the HTTP layer turns into a response.
struct problem {
  errc kind = errc::internal;
  std::string code;
  std::string message;
  int64_t retry_after = 0;
};

/// Unpacks any error; CAF's own errors (timeouts, dead actors) become `unavailable`.
problem to_problem(const caf::error& err);

/// The HTTP status of an error kind.
int http_status(errc kind);

/// Result type used inside services: a value or an error.
template <class T>
using result = caf::expected<T>;

}  // namespace pixhive
