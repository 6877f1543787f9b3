// The HTTP side of the S3 store: Boost.URL for URLs and queries, a pool of reused libcurl easy
// handles, and SigV4 signing by libcurl (CURLOPT_AWS_SIGV4). docs/architecture.md ("S3 blob
// store") says what libcurl 7.88's signer does and does not do, and how this file works around it.
#include "s3_client.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <cstdio>
#include <cstring>
#include <memory>
#include <mutex>
#include <vector>

#include <boost/url/encode.hpp>
#include <boost/url/grammar/lut_chars.hpp>
#include <boost/url/parse.hpp>
#include <boost/url/rfc/unreserved_chars.hpp>

#include <curl/curl.h>

#include "pixhive/core/crypto.hpp"
#include "pixhive/metrics/metrics.hpp"

namespace pixhive::store::s3 {

namespace urls = boost::urls;

namespace {

/// What SigV4 leaves unencoded in a path: RFC 3986's unreserved characters and '/'.
constexpr urls::grammar::lut_chars path_chars =
    urls::unreserved_chars + urls::grammar::lut_chars('/');

caf::error bad_endpoint() {
  return make_error(errc::invalid_argument, "bad_config",
                    "--s3-endpoint must be a URL such as http://host:9000");
}

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

struct traffic_metrics {
  prometheus::Counter& requests;
  prometheus::Counter& connections;

  static traffic_metrics& get() {
    static traffic_metrics m{
        prometheus::BuildCounter()
            .Name("pixhive_s3_requests_total")
            .Help("HTTP requests the S3 blob store sent (STS included), answered or not")
            .Register(metrics::registry())
            .Add({}),
        prometheus::BuildCounter()
            .Name("pixhive_s3_connections_total")
            .Help("Connections the S3 blob store opened; the other requests reused a kept-alive "
                  "one")
            .Register(metrics::registry())
            .Add({})};
    return m;
  }
};

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

/// libcurl rewinds the body when it sends the request again, as it does when a kept-alive
/// connection turns out to be closed by the server after the request began.
int seek_body(void* user, curl_off_t offset, int origin) {
  auto* c = static_cast<upload_cursor*>(user);
  if (origin != SEEK_SET || offset < 0 || static_cast<size_t>(offset) > c->data.size())
    return CURL_SEEKFUNC_CANTSEEK;
  c->pos = static_cast<size_t>(offset);
  return CURL_SEEKFUNC_OK;
}

size_t write_body(char* in, size_t size, size_t n, void* user) {
  static_cast<std::string*>(user)->append(in, size * n);
  return size * n;
}

struct slist_deleter {
  void operator()(curl_slist* l) const { curl_slist_free_all(l); }
};

}  // namespace

result<urls::url> bucket_url(const s3_config& cfg) {
  auto text = cfg.endpoint.empty() ? "https://s3." + cfg.region + ".amazonaws.com" : cfg.endpoint;
  auto parsed = urls::parse_absolute_uri(text);
  if (!parsed) return bad_endpoint();
  urls::url u = *parsed;
  if ((u.scheme_id() != urls::scheme::http && u.scheme_id() != urls::scheme::https) ||
      !u.has_authority() || u.host().empty() || u.has_userinfo())
    return bad_endpoint();
  u.remove_query();
  std::string path(u.encoded_path());
  while (!path.empty() && path.back() == '/') path.pop_back();
  if (cfg.path_style)
    path += "/" + urls::encode(cfg.bucket, urls::unreserved_chars);
  else
    u.set_host(cfg.bucket + "." + std::string(u.host()));
  u.set_encoded_path(path);
  return u;
}

std::string object_url(const urls::url& base, std::string_view key) {
  urls::url u = base;
  u.set_encoded_path(std::string(base.encoded_path()) + "/" + urls::encode(key, path_chars));
  return std::string(u.buffer());
}

result<std::string> object_url(const s3_config& cfg, std::string_view key) {
  auto base = bucket_url(cfg);
  if (!base) return base.error();
  return object_url(*base, key);
}

std::string canonical_query(header_list params) {
  for (auto& [name, value] : params) {
    name = urls::encode(name, urls::unreserved_chars);
    value = urls::encode(value, urls::unreserved_chars);
  }
  // SigV4 sorts by the encoded names (byte order), then by value.
  std::sort(params.begin(), params.end());
  std::string out;
  for (auto& [name, value] : params) {
    if (!out.empty()) out += '&';
    out += name + "=" + value;
  }
  return out;
}

struct client::impl {
  size_t max_idle;
  std::mutex mtx;
  std::vector<CURL*> idle;
  CURLSH* share = nullptr;
  std::array<std::mutex, CURL_LOCK_DATA_LAST> share_locks;

  static void lock(CURL*, curl_lock_data data, curl_lock_access, void* user) {
    static_cast<impl*>(user)->share_locks.at(data).lock();
  }
  static void unlock(CURL*, curl_lock_data data, void* user) {
    static_cast<impl*>(user)->share_locks.at(data).unlock();
  }

  explicit impl(size_t max) : max_idle(max) {
    static const bool curl_ready = curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK;
    (void)curl_ready;
    share = curl_share_init();
    if (share) {
      curl_share_setopt(share, CURLSHOPT_LOCKFUNC, &impl::lock);
      curl_share_setopt(share, CURLSHOPT_UNLOCKFUNC, &impl::unlock);
      curl_share_setopt(share, CURLSHOPT_USERDATA, this);
      curl_share_setopt(share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
      curl_share_setopt(share, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION);
    }
  }

  ~impl() {
    for (CURL* h : idle) curl_easy_cleanup(h);
    if (share) curl_share_cleanup(share);
  }

  /// An idle handle (the most recently used, whose connection is the likeliest to be alive), or
  /// a new one.
  CURL* acquire() {
    {
      std::lock_guard<std::mutex> guard{mtx};
      if (!idle.empty()) {
        CURL* h = idle.back();
        idle.pop_back();
        return h;
      }
    }
    CURL* h = curl_easy_init();
    // The share stays attached through curl_easy_reset().
    if (h && share) curl_easy_setopt(h, CURLOPT_SHARE, share);
    return h;
  }

  void release(CURL* h) {
    {
      std::lock_guard<std::mutex> guard{mtx};
      if (idle.size() < max_idle) {
        idle.push_back(h);
        return;
      }
    }
    curl_easy_cleanup(h);
  }
};

client::client(size_t max_idle) : impl_(std::make_unique<impl>(max_idle)) {}

client::~client() = default;

reply client::perform(const request& req, const signer* sign) {
  auto& counts = traffic_metrics::get();
  reply out;
  CURL* h = impl_->acquire();
  if (!h) {
    out.transport_error = "cannot initialise libcurl";
    return out;
  }
  struct lease {
    impl* owner;
    CURL* handle;
    ~lease() { owner->release(handle); }
  } held{impl_.get(), h};
  curl_easy_reset(h);

  std::unique_ptr<curl_slist, slist_deleter> headers;
  auto add = [&](const std::string& name, const std::string& value) {
    // "Name;" is libcurl's spelling of a header with an empty value ("Name:" would remove it).
    auto line = value.empty() ? name + ";" : name + ": " + value;
    auto* l = curl_slist_append(headers.get(), line.c_str());
    if (l) {
      headers.release();
      headers.reset(l);
    }
  };
  bool has_payload_hash = false;
  for (auto& [name, value] : req.headers) {
    has_payload_hash = has_payload_hash || iequals(name, "x-amz-content-sha256");
    add(name, value);
  }
  std::string provider;
  if (sign) {
    // libcurl 7.88 neither hashes a streamed body nor sends this header, which S3 requires; it
    // signs the value given here as the payload hash.
    if (!has_payload_hash) add("x-amz-content-sha256", crypto::sha256_hex(req.body));
    if (!sign->credentials.session_token.empty())
      add("x-amz-security-token", sign->credentials.session_token);
    provider = "aws:amz:" + sign->region + ":" + sign->service;
    curl_easy_setopt(h, CURLOPT_AWS_SIGV4, provider.c_str());
    curl_easy_setopt(h, CURLOPT_USERNAME, sign->credentials.access_key.c_str());
    curl_easy_setopt(h, CURLOPT_PASSWORD, sign->credentials.secret_key.c_str());
  }

  upload_cursor cursor{req.body};
  curl_easy_setopt(h, CURLOPT_URL, req.url.c_str());
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers.get());
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L);
  curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, req.connect_timeout_s);
  curl_easy_setopt(h, CURLOPT_TIMEOUT, req.timeout_s);
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, write_body);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, &out.body);
  if (req.method == "GET") {
    curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
  } else if (req.method == "HEAD") {
    curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
  } else if (req.method == "PUT") {
    // Streamed from the caller's buffer, not copied; rewound by seek_body when sent again.
    curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt(h, CURLOPT_READFUNCTION, read_body);
    curl_easy_setopt(h, CURLOPT_READDATA, &cursor);
    curl_easy_setopt(h, CURLOPT_SEEKFUNCTION, seek_body);
    curl_easy_setopt(h, CURLOPT_SEEKDATA, &cursor);
    curl_easy_setopt(h, CURLOPT_INFILESIZE_LARGE, static_cast<curl_off_t>(req.body.size()));
  } else if (req.method == "POST") {
    curl_easy_setopt(h, CURLOPT_POST, 1L);
    curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(req.body.size()));
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, req.body.empty() ? "" : req.body.data());
  } else {
    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, req.method.c_str());
  }

  auto rc = curl_easy_perform(h);
  long connects = 0;
  curl_easy_getinfo(h, CURLINFO_NUM_CONNECTS, &connects);
  counts.requests.Increment();
  if (connects > 0) counts.connections.Increment(static_cast<double>(connects));
  out.new_connection = connects > 0;
  if (rc != CURLE_OK)
    out.transport_error = curl_easy_strerror(rc);
  else
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &out.status);
  // Options pointing into this frame (headers, cursor, body) are cleared by the next
  // curl_easy_reset(); the handle is not used before that.
  return out;
}

traffic traffic_so_far() {
  auto& counts = traffic_metrics::get();
  return {static_cast<uint64_t>(counts.requests.Value()),
          static_cast<uint64_t>(counts.connections.Value())};
}

}  // namespace pixhive::store::s3
