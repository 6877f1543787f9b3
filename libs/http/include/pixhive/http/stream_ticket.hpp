#pragma once

#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

#include "pixhive/core/error.hpp"
#include "pixhive/core/jwt.hpp"

namespace pixhive::http {

/// Short-lived single-use tickets that open one event stream. A browser's EventSource cannot
/// send an Authorization header, and an access token in the URL would land in every proxy's
/// access log; a ticket there is worth one stream, for 30 seconds, on one path.
/// Thread-safe: one book per server remembers the tickets it has taken.
class ticket_book {
 public:
  /// How long a ticket can be redeemed after it was issued.
  static constexpr int64_t lifetime = 30;

  /// A ticket for `who` to open `path`, signed with `key` at time `now` (unix seconds).
  static std::string issue(const jwt::claims& who, std::string_view path, std::string_view key,
                           int64_t now);

  /// The claims of `ticket` when it is genuine, unexpired, for `path` and not redeemed before
  /// on this server; 401 otherwise.
  result<jwt::claims> redeem(std::string_view ticket, std::string_view path, std::string_view key,
                             int64_t now);

 private:
  std::mutex mtx_;
  /// Redeemed ticket ids and when they expire.
  std::unordered_map<std::string, int64_t> taken_;
};

}  // namespace pixhive::http
