#pragma once

#include <string>
#include <string_view>

#include "pixhive/core/error.hpp"

namespace pixhive::bus {

/// Where a Redis server is and how to log in to it, from
/// `redis://[[user]:password@]host[:port][/db]` (user and password percent-encoded). For TLS to
/// Redis (ElastiCache in-transit encryption) PixHive talks to a local TLS client such as
/// stunnel (docs/architecture.md says why), so the URL names that local end.
struct redis_address {
  std::string host = "127.0.0.1";
  int port = 6379;
  /// ACL user; empty for the default user (`AUTH password`).
  std::string user;
  /// Sent with AUTH after connecting when not empty.
  std::string password;
  /// SELECTed after connecting when not 0.
  int db = 0;

  /// Parses a redis:// URL; a clear `bad_config` error names what is wrong.
  static result<redis_address> parse(std::string_view url);
  /// "host:port", never the password: for logs and errors.
  std::string describe() const;
};

}  // namespace pixhive::bus
