#include "mailer.hpp"

#include <chrono>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>

#include <curl/curl.h>

#include "pixhive/core/crypto.hpp"
#include "pixhive/core/ids.hpp"
#include "pixhive/core/log.hpp"

namespace pixhive::auth {

namespace {

std::string address_of(const std::string& from) {
  auto lt = from.find('<');
  auto gt = from.find('>');
  if (lt != std::string::npos && gt != std::string::npos && gt > lt)
    return from.substr(lt, gt - lt + 1);
  return "<" + from + ">";
}

struct upload_state {
  const std::string* data;
  size_t pos = 0;
};

size_t read_cb(char* out, size_t size, size_t n, void* user) {
  auto* st = static_cast<upload_state*>(user);
  size_t len = std::min(size * n, st->data->size() - st->pos);
  std::memcpy(out, st->data->data() + st->pos, len);
  st->pos += len;
  return len;
}

}  // namespace

mailer::mailer(std::string smtp_url, std::string from, std::string user, std::string password,
               bool require_tls, std::string outbox_dir)
    : smtp_url_(std::move(smtp_url)),
      from_(std::move(from)),
      user_(std::move(user)),
      password_(std::move(password)),
      require_tls_(require_tls),
      outbox_dir_(std::move(outbox_dir)) {}

result<void> mailer::send(const std::string& to, const std::string& subject,
                          const std::string& body) {
  std::string message =
      "Date: " + format_utc("%a, %d %b %Y %H:%M:%S +0000") + "\r\nFrom: " + from_ + "\r\nTo: <" +
      to + ">\r\nSubject: " + subject + "\r\nMessage-ID: <" + crypto::random_token(16) +
      "@pixhive>\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n" + body +
      "\r\n";
  return smtp_url_.empty() ? write_outbox(to, message) : send_smtp(to, message);
}

result<void> mailer::write_outbox(const std::string& to, const std::string& message) {
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::create_directories(outbox_dir_, ec);
  auto stamp = std::chrono::duration_cast<std::chrono::milliseconds>(
                   std::chrono::system_clock::now().time_since_epoch())
                   .count();
  // The file name never contains user input: the address goes only inside the file.
  auto name = std::to_string(stamp) + "-" + crypto::random_token(6) + ".eml";
  auto path = fs::path(outbox_dir_) / name;
  auto tmp = path;
  tmp += ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary);
    out << message;
    if (!out)
      return make_error(errc::unavailable, "mail_failed",
                        "cannot write to the outbox " + outbox_dir_);
  }
  fs::rename(tmp, path, ec);
  if (ec)
    return make_error(errc::unavailable, "mail_failed",
                      "cannot write to the outbox: " + ec.message());
  log::info("mail_written_to_outbox", {{"to", to}, {"file", path.string()}});
  return caf::unit;
}

result<void> mailer::send_smtp(const std::string& to, const std::string& message) {
  CURL* curl = curl_easy_init();
  if (!curl) return make_error(errc::unavailable, "mail_failed", "cannot initialise libcurl");
  upload_state st{&message};
  curl_slist* rcpt = curl_slist_append(nullptr, ("<" + to + ">").c_str());
  auto from = address_of(from_);
  curl_easy_setopt(curl, CURLOPT_URL, smtp_url_.c_str());
  curl_easy_setopt(curl, CURLOPT_MAIL_FROM, from.c_str());
  curl_easy_setopt(curl, CURLOPT_MAIL_RCPT, rcpt);
  curl_easy_setopt(curl, CURLOPT_READFUNCTION, read_cb);
  curl_easy_setopt(curl, CURLOPT_READDATA, &st);
  curl_easy_setopt(curl, CURLOPT_UPLOAD, 1L);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT, 30L);
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  if (!user_.empty()) {
    curl_easy_setopt(curl, CURLOPT_USERNAME, user_.c_str());
    curl_easy_setopt(curl, CURLOPT_PASSWORD, password_.c_str());
    curl_easy_setopt(curl, CURLOPT_USE_SSL,
                     static_cast<long>(require_tls_ ? CURLUSESSL_ALL : CURLUSESSL_TRY));
  }
  auto rc = curl_easy_perform(curl);
  curl_slist_free_all(rcpt);
  curl_easy_cleanup(curl);
  if (rc != CURLE_OK)
    return make_error(errc::unavailable, "mail_failed",
                      std::string("SMTP delivery failed: ") + curl_easy_strerror(rc));
  log::info("mail_sent", {{"to", to}});
  return caf::unit;
}

}  // namespace pixhive::auth
