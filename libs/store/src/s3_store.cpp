#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <mutex>
#include <optional>
#include <thread>

#include <unistd.h>

#include <boost/url/parse.hpp>
#include <boost/url/url.hpp>

#include "pixhive/core/crypto.hpp"
#include "pixhive/core/log.hpp"
#include "pixhive/store/s3.hpp"
#include "s3_client.hpp"

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
  // The keys and the token go into request headers (libcurl sends header values as given): a
  // line break or other control character in them would split a header.
  auto printable = [](const std::string& s) {
    return std::none_of(s.begin(), s.end(), [](unsigned char c) { return c < 0x20 || c == 0x7f; });
  };
  if (!printable(*key) || !printable(*secret) || !printable(*token))
    return make_error(errc::unavailable, "sts_error",
                      "STS gave credentials with control characters");
  return temporary_credentials{{*key, *secret, *token}, *expires};
}

namespace {

class s3_store final : public blob_store {
 public:
  s3_store(s3_config cfg, boost::urls::url bucket)
      : cfg_(std::move(cfg)), bucket_(std::move(bucket)) {}

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
  static caf::error failure(const char* method, const s3::reply& r) {
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

  /// AssumeRoleWithWebIdentity: an unsigned POST to STS with the pod's token (through the same
  /// pool of handles, so a kept-alive connection to STS is reused at the next refresh if it
  /// is still open).
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
    auto endpoint = id.sts_endpoint.empty() ? "https://sts." + cfg_.region + ".amazonaws.com/"
                                            : id.sts_endpoint;
    auto parsed = boost::urls::parse_absolute_uri(endpoint);  // a view into `endpoint`
    if (!parsed)
      return make_error(errc::unavailable, "sts_error",
                        "AWS_ENDPOINT_URL_STS is not a URL: " + id.sts_endpoint);
    boost::urls::url url = *parsed;
    if (url.encoded_path().empty()) url.set_encoded_path("/");
    // Encoded as the hand-written code did: every byte but the unreserved ones.
    auto form = s3::canonical_query({{"Action", "AssumeRoleWithWebIdentity"},
                                     {"Version", "2011-06-15"},
                                     {"DurationSeconds", "3600"},
                                     {"RoleArn", id.role_arn},
                                     {"RoleSessionName", session.substr(0, 64)},
                                     {"WebIdentityToken", token}});
    s3::request req{"POST",
                    std::string(url.buffer()),
                    {{"Content-Type", "application/x-www-form-urlencoded"}},
                    form,
                    5,
                    15};
    auto out = client_.perform(req);
    if (!out.transport_error.empty())
      return make_error(errc::unavailable, "sts_error", "STS unreachable: " + out.transport_error);
    return parse_sts_credentials(out.body);
  }

  /// One request with retries: 5xx answers and connection errors are tried again after
  /// 100 ms, 200 ms, 400 ms … (this runs on a worker thread, so waiting blocks no one else).
  result<s3::reply> call(const char* method, const std::string& key, std::string_view body) {
    if (!valid_blob_key(key))
      return make_error(errc::invalid_argument, "invalid_blob_key", "invalid blob key");
    auto creds = credentials();
    if (!creds) return creds.error();
    s3::signer sign{std::move(*creds), cfg_.region, "s3"};
    // Hashed once for all the attempts (the client would hash it for each).
    s3::request req{method,
                    s3::object_url(bucket_, key),
                    {{"x-amz-content-sha256", crypto::sha256_hex(body)}},
                    body};
    s3::reply last;
    for (int attempt = 1; attempt <= cfg_.max_attempts; ++attempt) {
      last = client_.perform(req, &sign);
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

  s3_config cfg_;
  boost::urls::url bucket_;
  s3::client client_;
  std::mutex credentials_mtx_;
  std::optional<temporary_credentials> temporary_;
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
  auto bucket = s3::bucket_url(cfg);
  if (!bucket) return bucket.error();
  return std::unique_ptr<blob_store>{new s3_store(std::move(cfg), std::move(*bucket))};
}

}  // namespace pixhive::store
