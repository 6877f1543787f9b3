#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "pixhive/store/blob.hpp"

namespace pixhive::store {

/// AWS credentials (from AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN).
struct aws_credentials {
  std::string access_key;
  std::string secret_key;
  std::string session_token;

  /// Reads the usual AWS_* environment variables.
  static aws_credentials from_environment();
};

/// A role to assume with a web identity token (EKS IAM Roles for Service Accounts: the pod gets
/// AWS_ROLE_ARN and AWS_WEB_IDENTITY_TOKEN_FILE; AWS_ROLE_SESSION_NAME and AWS_ENDPOINT_URL_STS
/// are optional), used when no static keys are set.
struct web_identity {
  std::string role_arn;
  std::string token_file;
  std::string session_name;
  /// Empty means https://sts.<region>.amazonaws.com.
  std::string sts_endpoint;

  /// Reads the variables above.
  static web_identity from_environment();
  /// True when a role and a token file are named.
  bool configured() const { return !role_arn.empty() && !token_file.empty(); }
};

/// Credentials from STS and the time they stop working.
struct temporary_credentials {
  aws_credentials credentials;
  std::chrono::system_clock::time_point expires;
};

/// Reads STS's AssumeRoleWithWebIdentity answer (XML); an answer without the four credential
/// fields is an error carrying STS's own message when it gave one.
result<temporary_credentials> parse_sts_credentials(std::string_view xml);

/// Settings of the S3 blob store.
struct s3_config {
  std::string bucket;
  std::string region = "us-east-1";
  /// Base URL of an S3-compatible service ("http://127.0.0.1:4568"); empty means AWS
  /// (https://s3.<region>.amazonaws.com).
  std::string endpoint;
  /// Address buckets as <endpoint>/<bucket>/key instead of <bucket>.<host>/key.
  bool path_style = false;
  aws_credentials credentials;
  /// Used when `credentials` has no keys: temporary keys are fetched from STS, and fetched
  /// again five minutes before they expire.
  web_identity identity;
  /// Tries per call; 5xx answers and connection errors are retried with exponential backoff.
  int max_attempts = 4;
};

/// Opens a blob store on any S3-compatible service.
result<std::unique_ptr<blob_store>> open_s3_store(s3_config cfg);

/// The HTTP side of the S3 store: URLs built with Boost.URL, requests sent through a pool of
/// reused libcurl handles and signed by libcurl itself (CURLOPT_AWS_SIGV4). Public so that tests
/// can send AWS's published SigV4 examples through the very code that signs the store's requests.
namespace s3 {

using header_list = std::vector<std::pair<std::string, std::string>>;

/// The URL of object `key`: the endpoint (https://s3.<region>.amazonaws.com when empty) with
/// the bucket in the host or, path-style, as the first path segment. The key is percent-encoded
/// as SigV4's canonical URI wants it (every byte but A-Z a-z 0-9 - . _ ~ and '/'), because
/// libcurl signs the path exactly as the URL spells it. An error when the endpoint is not an
/// http(s) URL with a host.
result<std::string> object_url(const s3_config& cfg, std::string_view key);

/// A query string in SigV4's canonical form: parameters sorted by name (then value), names and
/// values percent-encoded (unreserved characters kept), every name followed by '=' even when
/// its value is empty. libcurl 7.88 signs the query exactly as the URL spells it, so signed URLs
/// must carry their query in this form.
std::string canonical_query(header_list params);

/// One HTTP request.
struct request {
  std::string method;  // GET, HEAD, PUT, POST or DELETE
  std::string url;
  /// Sent as given (and signed when the request is). A "Host" header replaces the URL's host
  /// in the request (tests send AWS's examples to loopback this way); an "x-amz-date" header
  /// fixes the signing time instead of now; an "x-amz-content-sha256" header replaces the hash
  /// of the body that is otherwise computed.
  header_list headers;
  /// Streamed from the caller's buffer (PUT, POST), never copied.
  std::string_view body;
  long connect_timeout_s = 10;
  long timeout_s = 300;
};

/// The answer, or why there was none.
struct reply {
  long status = 0;
  std::string body;
  /// libcurl's message when no answer came (status is then 0).
  std::string transport_error;
  /// True when this request opened a new connection rather than reusing a kept-alive one.
  bool new_connection = false;
};

/// Who signs a request (SigV4 by libcurl: "aws:amz:<region>:<service>").
struct signer {
  aws_credentials credentials;
  std::string region = "us-east-1";
  std::string service = "s3";
};

/// Sends requests through a pool of libcurl easy handles. A handle is taken for one request and
/// given back afterwards with its kept-alive connections, so consecutive requests to the same
/// host reuse them; at most as many handles (and so connections per host) exist as requests ran
/// at once, and `max_idle` of them are kept between requests. DNS answers and TLS sessions are
/// shared by all handles (a CURLSH share; connections are not shared through it, libcurl does not
/// support that across threads). Thread-safe: each handle serves one thread at a time.
class client {
 public:
  explicit client(size_t max_idle = 16);
  ~client();
  client(const client&) = delete;
  client& operator=(const client&) = delete;

  /// Sends `req`, signed with SigV4 when `sign` is given: then x-amz-content-sha256 (the
  /// body's hash) and, for temporary credentials, x-amz-security-token are added and signed.
  reply perform(const request& req, const signer* sign = nullptr);

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

/// Requests sent and connections opened by every S3 client of this process so far (the same
/// counts as the metrics pixhive_s3_requests_total and pixhive_s3_connections_total).
struct traffic {
  uint64_t requests = 0;
  uint64_t connections = 0;
};
traffic traffic_so_far();

}  // namespace s3

}  // namespace pixhive::store
