#pragma once

#include <string>

#include "pixhive/core/error.hpp"

namespace pixhive::auth {

/// Delivers mail: through SMTP when a URL is configured, otherwise as .eml files in an outbox
/// folder so a local user can read them.
class mailer {
 public:
  mailer(std::string smtp_url, std::string from, std::string user, std::string password,
         bool require_tls, std::string outbox_dir);

  /// Sends one plain-text message; blocking (call from a worker actor).
  result<void> send(const std::string& to, const std::string& subject, const std::string& body);

 private:
  result<void> send_smtp(const std::string& to, const std::string& message);
  result<void> write_outbox(const std::string& to, const std::string& message);

  std::string smtp_url_;
  std::string from_;
  std::string user_;
  std::string password_;
  bool require_tls_ = true;
  std::string outbox_dir_;
};

}  // namespace pixhive::auth
