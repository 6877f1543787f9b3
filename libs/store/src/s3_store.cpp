#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <fstream>
#include <mutex>
#include <optional>
#include <thread>

#include <unistd.h>

#include <curl/curl.h>

#include "pixhive/core/crypto.hpp"
#include "pixhive/core/ids.hpp"
#include "pixhive/core/log.hpp"
#include "pixhive/store/s3.hpp"

namespace pixhive::store {

aws_credentials aws_credentials::from_environment() {
  auto env = [](const char* name) {
    const char* v = std::getenv(name);
    return std::string(v ? v : "");
  };
  return {env("AWS_ACCESS_KEY_ID"), env("AWS_SECRET_ACCESS_KEY"), env("AWS_SESSION_TOKEN")};
}

web_identity web_identity::from_environment() {
  auto env = [](const char* name) {
    const char* v = std::getenv(name);
    return std::string(v ? v : "");
  };
  return {env("AWS_ROLE_ARN"), env("AWS_WEB_IDENTITY_TOKEN_FILE"), env("AWS_ROLE_SESSION_NAME"),
          env("AWS_ENDPOINT_URL_STS")};
}

namespace {

/// The text of the first <tag>…</tag> in `xml` (STS answers are flat and hold no markup inside
/// these elements; the five entities are decoded in case a message holds one).
std::optional<std::string> element(std::string_view xml, const std::string& tag) {
  auto open = xml.find("<" + tag + ">");
  if (open == std::string_view::npos) return std::nullopt;
  auto start = open + tag.size() + 2;
  auto close = xml.find("</" + tag + ">", start);
  if (close == std::string_view::npos) return std::nullopt;
  std::string out;
  auto text = xml.substr(start, close - start);
  for (size_t i = 0; i < text.size(); ++i) {
    static const std::pair<std::string_view, char> entities[] = {
        {"&amp;", '&'}, {"&lt;", '<'}, {"&gt;", '>'}, {"&quot;", '"'}, {"&apos;", '\''}};
    bool replaced = false;
    for (auto& [name, c] : entities)
      if (text.substr(i, name.size()) == name) {
        out += c;
        i += name.size() - 1;
        replaced = true;
        break;
      }
    if (!replaced) out += text[i];
  }
  return out;
}

/// "2026-12-03T17:00:00Z" (STS's Expiration; fractional seconds allowed) as a time point.
std::optional<std::chrono::system_clock::time_point> parse_utc(const std::string& s) {
  std::tm tm{};
  const char* end = strptime(s.c_str(), "%Y-%m-%dT%H:%M:%S", &tm);
  if (!end) return std::nullopt;
  return std::chrono::system_clock::from_time_t(timegm(&tm));
}

}  // namespace

result<temporary_credentials> parse_sts_credentials(std::string_view xml) {
  auto key = element(xml, "AccessKeyId"), secret = element(xml, "SecretAccessKey"),
       token = element(xml, "SessionToken"), expiration = element(xml, "Expiration");
  if (!key || !secret || !token || !expiration || key->empty() || secret->empty()) {
    auto message = element(xml, "Message");
    return make_error(
        errc::unavailable, "sts_error",
        "STS gave no credentials: " + (message ? *message : std::string(xml.substr(0, 200))));
  }
  auto expires = parse_utc(*expiration);
  if (!expires)
    return make_error(errc::unavailable, "sts_error", "STS gave an unreadable expiration");
  return temporary_credentials{{*key, *secret, *token}, *expires};
}

namespace sigv4 {

std::string uri_encode(std::string_view in, bool encode_slash) {
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : in) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~' ||
        (c == '/' && !encode_slash)) {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  return out;
}

std::string authorization(const request& req, const aws_credentials& creds,
                          const std::string& region, const std::string& service,
                          const std::string& amz_date) {
  std::vector<std::pair<std::string, std::string>> headers;
  for (auto [name, value] : req.headers) {
    std::transform(name.begin(), name.end(), name.begin(),
                   [](unsigned char c) { return std::tolower(c); });
    auto first = value.find_first_not_of(' ');
    auto last = value.find_last_not_of(' ');
    headers.emplace_back(name,
                         first == std::string::npos ? "" : value.substr(first, last - first + 1));
  }
  std::sort(headers.begin(), headers.end());
  std::string canonical_headers, signed_headers;
  for (auto& [name, value] : headers) {
    canonical_headers += name + ":" + value + "\n";
    signed_headers += (signed_headers.empty() ? "" : ";") + name;
  }
  auto canonical_request = req.method + "\n" + req.canonical_uri + "\n" + req.canonical_query +
                           "\n" + canonical_headers + "\n" + signed_headers + "\n" +
                           req.payload_sha256;
  auto date = amz_date.substr(0, 8);
  auto scope = date + "/" + region + "/" + service + "/aws4_request";
  auto string_to_sign =
      "AWS4-HMAC-SHA256\n" + amz_date + "\n" + scope + "\n" + crypto::sha256_hex(canonical_request);
  auto k_date = crypto::hmac_sha256("AWS4" + creds.secret_key, date);
  auto k_region = crypto::hmac_sha256(k_date, region);
  auto k_service = crypto::hmac_sha256(k_region, service);
  auto k_signing = crypto::hmac_sha256(k_service, "aws4_request");
  auto raw = crypto::hmac_sha256(k_signing, string_to_sign);
  static const char* hex = "0123456789abcdef";
  std::string signature;
  for (unsigned char c : raw) {
    signature += hex[c >> 4];
    signature += hex[c & 15];
  }
  return "AWS4-HMAC-SHA256 Credential=" + creds.access_key + "/" + scope +
         ",SignedHeaders=" + signed_headers + ",Signature=" + signature;
}

}  // namespace sigv4

namespace {

const std::string empty_sha256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

struct upload_cursor {
  std::string_view data;
  size_t pos = 0;
};

size_t read_body(char* out, size_t size, size_t n, void* user) {
  auto* c = static_cast<upload_cursor*>(user);
  size_t len = std::min(size * n, c->data.size() - c->pos);
  std::memcpy(out, c->data.data() + c->pos, len);
  c->pos += len;
  return len;
}

size_t write_body(char* in, size_t size, size_t n, void* user) {
  static_cast<std::string*>(user)->append(in, size * n);
  return size * n;
}

struct reply {
  long status = 0;
  std::string body;
  std::string transport_error;
};

class s3_store final : public blob_store {
 public:
  explicit s3_store(s3_config cfg) : cfg_(std::move(cfg)) {
    std::string base =
        cfg_.endpoint.empty() ? "https://s3." + cfg_.region + ".amazonaws.com" : cfg_.endpoint;
    while (!base.empty() && base.back() == '/') base.pop_back();
    auto scheme_end = base.find("://");
    scheme_ = base.substr(0, scheme_end);
    host_ = base.substr(scheme_end + 3);
    if (!cfg_.path_style) host_ = cfg_.bucket + "." + host_;
    path_prefix_ = cfg_.path_style ? "/" + sigv4::uri_encode(cfg_.bucket, true) : "";
  }

  result<void> put(const std::string& key, std::string_view bytes) override {
    auto r = call("PUT", key, bytes);
    if (!r) return r.error();
    if (r->status != 200) return failure("PUT", *r);
    return caf::unit;
  }

  result<std::string> get(const std::string& key) override {
    auto r = call("GET", key, {});
    if (!r) return r.error();
    if (r->status == 404) return make_error(errc::not_found, "blob_not_found", "no such blob");
    if (r->status != 200) return failure("GET", *r);
    return std::move(r->body);
  }

  result<void> remove(const std::string& key) override {
    auto r = call("DELETE", key, {});
    if (!r) return r.error();
    if (r->status != 204 && r->status != 200 && r->status != 404) return failure("DELETE", *r);
    return caf::unit;
  }

  std::string_view backend() const override { return "s3"; }

 private:
  static caf::error failure(const char* method, const reply& r) {
    return make_error(errc::unavailable, "blob_store_error",
                      std::string("S3 ") + method + " answered " + std::to_string(r.status) + ": " +
                          r.body.substr(0, 300));
  }

  /// The static keys, or temporary ones from STS: fetched when missing or within five minutes
  /// of expiring (the token file is read each time: the kubelet rotates it). While STS fails,
  /// keys that have not expired yet are still used.
  result<aws_credentials> credentials() {
    if (!cfg_.credentials.access_key.empty()) return cfg_.credentials;
    std::lock_guard<std::mutex> guard{credentials_mtx_};
    auto now = std::chrono::system_clock::now();
    if (temporary_ && temporary_->expires - now > std::chrono::minutes(5))
      return temporary_->credentials;
    auto fresh = assume_role();
    if (fresh) {
      temporary_ = std::move(*fresh);
      log::info(
          "s3_credentials_refreshed",
          {{"role", cfg_.identity.role_arn},
           {"expires_in_s",
            std::chrono::duration_cast<std::chrono::seconds>(temporary_->expires - now).count()}});
      return temporary_->credentials;
    }
    log::warn("s3_credentials_failed", {{"error", to_problem(fresh.error()).message}});
    if (temporary_ && temporary_->expires > now) return temporary_->credentials;
    return fresh.error();
  }

  /// AssumeRoleWithWebIdentity: an unsigned POST to STS with the pod's token.
  result<temporary_credentials> assume_role() {
    const auto& id = cfg_.identity;
    std::ifstream file(id.token_file);
    std::string token((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
    while (!token.empty() && std::isspace(static_cast<unsigned char>(token.back())))
      token.pop_back();
    if (token.empty())
      return make_error(errc::unavailable, "sts_error",
                        "cannot read the web identity token " + id.token_file);
    std::string session = id.session_name;
    if (session.empty()) {
      char host[64] = {};
      gethostname(host, sizeof host - 1);
      session = "pixhive-" + std::string(host);
    }
    auto form =
        "Action=AssumeRoleWithWebIdentity&Version=2011-06-15&DurationSeconds=3600"
        "&RoleArn=" +
        sigv4::uri_encode(id.role_arn, true) +
        "&RoleSessionName=" + sigv4::uri_encode(session.substr(0, 64), true) +
        "&WebIdentityToken=" + sigv4::uri_encode(token, true);
    auto url = id.sts_endpoint.empty() ? "https://sts." + cfg_.region + ".amazonaws.com/"
                                       : id.sts_endpoint;
    reply out;
    CURL* curl = curl_easy_init();
    if (!curl) return make_error(errc::unavailable, "sts_error", "cannot initialise libcurl");
    curl_slist* headers =
        curl_slist_append(nullptr, "Content-Type: application/x-www-form-urlencoded");
    curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, form.c_str());
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT, 5L);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT, 15L);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, write_body);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &out.body);
    auto rc = curl_easy_perform(curl);
    if (rc == CURLE_OK) curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &out.status);
    curl_slist_free_all(headers);
    curl_easy_cleanup(curl);
    if (rc != CURLE_OK)
      return make_error(errc::unavailable, "sts_error",
                        std::string("STS unreachable: ") + curl_easy_strerror(rc));
    return parse_sts_credentials(out.body);
  }

  /// One request with retries: 5xx answers and connection errors are tried again after
  /// 100 ms, 200 ms, 400 ms … (this runs on a worker thread, so waiting blocks no one else).
  result<reply> call(const char* method, const std::string& key, std::string_view body) {
    if (!valid_blob_key(key))
      return make_error(errc::invalid_argument, "invalid_blob_key", "invalid blob key");
    auto creds = credentials();
    if (!creds) return creds.error();
    reply last;
    for (int attempt = 1; attempt <= cfg_.max_attempts; ++attempt) {
      last = once(method, key, body, *creds);
      bool retry = !last.transport_error.empty() || last.status >= 500;
      if (!retry) return last;
      log::warn("s3_retry", {{"method", method},
                             {"attempt", attempt},
                             {"status", last.status},
                             {"error", last.transport_error}});
      if (attempt < cfg_.max_attempts)
        std::this_thread::sleep_for(std::chrono::milliseconds(100 << (attempt - 1)));
    }
    if (!last.transport_error.empty())
      return make_error(errc::unavailable, "blob_store_unreachable",
                        "S3 unreachable: " + last.transport_error);
    return last;
  }

  reply once(const char* method, const std::string& key, std::string_view body,
             const aws_credentials& creds) {
    auto path = path_prefix_ + "/" + sigv4::uri_encode(key, false);
    auto amz_date = format_utc("%Y%m%dT%H%M%SZ");
    auto payload_hash = body.empty() ? empty_sha256 : crypto::sha256_hex(body);
    sigv4::request sreq{
        method,
        path,
        "",
        {{"host", host_}, {"x-amz-date", amz_date}, {"x-amz-content-sha256", payload_hash}},
        payload_hash};
    if (!creds.session_token.empty())
      sreq.headers.emplace_back("x-amz-security-token", creds.session_token);
    auto auth = sigv4::authorization(sreq, creds, cfg_.region, "s3", amz_date);

    reply out;
    CURL* curl = curl_easy_init();
    if (!curl) {
      out.transport_error = "cannot initialise libcurl";
      return out;
    }
    curl_slist* headers = nullptr;
    for (auto& [name, value] : sreq.headers)
      headers = curl_slist_append(headers, (name + ": " + value).c_str());
    headers = curl_slist_append(headers, ("Authorization: " + auth).c_str());
    headers = curl_slist_append(headers, "Expect:");
    auto url = scheme_ + "://" + host_ + path;
    upload_cursor cursor{body};
    curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT, 10L);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT, 300L);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, write_body);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &out.body);
    if (std::strcmp(method, "PUT") == 0) {
      // The body is streamed from the caller's buffer, not copied.
      curl_easy_setopt(curl, CURLOPT_UPLOAD, 1L);
      curl_easy_setopt(curl, CURLOPT_READFUNCTION, read_body);
      curl_easy_setopt(curl, CURLOPT_READDATA, &cursor);
      curl_easy_setopt(curl, CURLOPT_INFILESIZE_LARGE, static_cast<curl_off_t>(body.size()));
    } else if (std::strcmp(method, "DELETE") == 0) {
      curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, "DELETE");
    }
    auto rc = curl_easy_perform(curl);
    if (rc != CURLE_OK)
      out.transport_error = curl_easy_strerror(rc);
    else
      curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &out.status);
    curl_slist_free_all(headers);
    curl_easy_cleanup(curl);
    return out;
  }

  s3_config cfg_;
  std::mutex credentials_mtx_;
  std::optional<temporary_credentials> temporary_;
  std::string scheme_;
  std::string host_;
  std::string path_prefix_;
};

}  // namespace

result<std::unique_ptr<blob_store>> open_s3_store(s3_config cfg) {
  if (cfg.bucket.empty())
    return make_error(errc::invalid_argument, "bad_config",
                      "the S3 store needs a bucket (--s3-bucket)");
  bool keys = !cfg.credentials.access_key.empty() && !cfg.credentials.secret_key.empty();
  if (!keys && !cfg.identity.configured())
    return make_error(errc::invalid_argument, "bad_config",
                      "the S3 store needs AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or "
                      "AWS_ROLE_ARN and AWS_WEB_IDENTITY_TOKEN_FILE (EKS IRSA), in the "
                      "environment");
  if (!cfg.endpoint.empty() && cfg.endpoint.find("://") == std::string::npos)
    return make_error(errc::invalid_argument, "bad_config",
                      "--s3-endpoint must be a URL such as http://host:9000");
  static const bool curl_ready = curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK;
  (void)curl_ready;
  return std::unique_ptr<blob_store>{new s3_store(std::move(cfg))};
}

}  // namespace pixhive::store
