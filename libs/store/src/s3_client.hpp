// Private to the S3 store: the endpoint as a Boost.URL url, shared by s3_client.cpp (object URLs)
// and s3_store.cpp (validation at open, the store's own URLs).
#pragma once

#include <string_view>

#include <boost/url/url.hpp>

#include "pixhive/store/s3.hpp"

namespace pixhive::store::s3 {

/// The URL objects hang under: the endpoint (AWS's when empty) with the bucket in the host or,
/// path-style, as the last path segment; no trailing '/', query or fragment. An error
/// (bad_config) when the endpoint is not an http(s) URL with a host.
result<boost::urls::url> bucket_url(const s3_config& cfg);

/// `base` (from bucket_url) with "/" and `key` percent-encoded as SigV4's canonical URI wants
/// appended to its path.
std::string object_url(const boost::urls::url& base, std::string_view key);

}  // namespace pixhive::store::s3
