#pragma once

#include <chrono>
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

/// AWS Signature Version 4 (header form).
namespace sigv4 {

/// One request to sign. `headers` must contain every header to sign (at least host,
/// x-amz-date and x-amz-content-sha256); names may be in any case.
struct request {
  std::string method;
  std::string canonical_uri;    // already URI-encoded, e.g. "/bucket/key"
  std::string canonical_query;  // already sorted and encoded, "" when none
  std::vector<std::pair<std::string, std::string>> headers;
  std::string payload_sha256;  // hex
};

/// The value of the Authorization header for `req` at `amz_date` (YYYYMMDDTHHMMSSZ).
std::string authorization(const request& req, const aws_credentials& creds,
                          const std::string& region, const std::string& service,
                          const std::string& amz_date);

/// URI-encodes per SigV4: unreserved characters stay, '/' stays unless `encode_slash`.
std::string uri_encode(std::string_view in, bool encode_slash);

}  // namespace sigv4

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

}  // namespace pixhive::store
