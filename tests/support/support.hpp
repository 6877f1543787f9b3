#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <nlohmann/json.hpp>

/// Skips a test whose backend (PostgreSQL, Redis, s3rver, photos) is missing — or fails it when
/// PIXHIVE_REQUIRE_BACKENDS=1 (set by CI), where a missing backend is a broken setup, not a pass.
#define PIXHIVE_SKIP_MISSING(why)                                       \
  do {                                                                  \
    if (::pixhive::testing::backends_required()) GTEST_FAIL() << (why); \
    GTEST_SKIP() << (why);                                              \
  } while (0)

namespace pixhive::testing {

/// True when PIXHIVE_REQUIRE_BACKENDS=1: tests must not skip for a missing backend.
bool backends_required();

namespace bhttp = boost::beast::http;

/// A fresh directory under /tmp, removed with everything in it on destruction.
class temp_dir {
 public:
  temp_dir();
  ~temp_dir();
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

/// How long a test waits for a process to start, print a line or exit before calling it hung:
/// it bounds a failing test only, so it is generous (a sanitizer build on a loaded machine runs
/// several times slower than on an idle one).
inline constexpr std::chrono::seconds process_patience{120};

/// A child process whose stderr lines are collected (JSON log lines among them).
class child_process {
 public:
  /// Starts `argv[0]` with `argv`, extra environment `env` added to this process's; as the
  /// system user `run_as` when it is not empty (the caller must be root).
  child_process(std::vector<std::string> argv, std::map<std::string, std::string> env = {},
                std::string run_as = {});
  ~child_process();

  /// Waits until a stderr line satisfies `pred`; returns it, or nullopt on timeout or exit.
  std::optional<std::string> wait_for_line(const std::function<bool(const std::string&)>& pred,
                                           std::chrono::milliseconds timeout = process_patience);
  /// Sends a signal.
  void signal(int sig);
  /// Waits for the exit; returns the exit code (128+signal when killed), or nullopt on timeout.
  std::optional<int> wait_exit(std::chrono::milliseconds timeout = process_patience);
  /// Everything printed to stderr so far.
  std::string output();
  int pid() const { return pid_; }

 private:
  int pid_ = -1;
  int exit_code_ = -1;
  bool exited_ = false;
  std::thread reader_;
  std::mutex mtx_;
  std::condition_variable cv_;
  std::vector<std::string> lines_;
  bool eof_ = false;
};

/// The pixhive binary under test.
std::string pixhive_binary();

/// A running `pixhive` started with `--port 0` in a temp data dir; knows its port.
class pixhive_server {
 public:
  /// Starts with a fresh temp data dir, or with `data_dir` when it is not empty (a restart).
  /// Rate limits are off (every test client is one address) unless `args` sets a rate option.
  explicit pixhive_server(std::vector<std::string> args = {}, std::string mode = "all",
                          std::map<std::string, std::string> env = {}, std::string data_dir = {});
  uint16_t port() const { return port_; }
  /// The metrics listener's port (/metrics lives there, not on port()).
  uint16_t metrics_port() const { return metrics_port_; }
  uint16_t actor_port() const { return actor_port_; }
  /// The value of one series from /metrics, exactly as written there (name and labels), 0 when
  /// absent.
  double metric(const std::string& series) const;
  const std::string& data_dir() const { return data_dir_; }
  child_process& process() { return *proc_; }
  /// The extra arguments it was started with (to run the admin CLI against the same stores).
  const std::vector<std::string>& args() const { return args_; }

 private:
  std::unique_ptr<temp_dir> owned_dir_;
  std::string data_dir_;
  std::vector<std::string> args_;
  std::unique_ptr<child_process> proc_;
  uint16_t port_ = 0;
  uint16_t metrics_port_ = 0;
  uint16_t actor_port_ = 0;
};

/// A parsed HTTP response.
struct reply {
  int status = 0;
  std::map<std::string, std::string> headers;
  std::string body;
  nlohmann::json json() const;
  /// The `error.code` of a JSON error body ("" when there is none).
  std::string error_code() const;
};

/// A keep-alive HTTP/1.1 connection to 127.0.0.1:port. A request that is not written, or an
/// answer not read, within process_patience throws.
class http_connection {
 public:
  explicit http_connection(uint16_t port);
  /// Sends one request and reads its response.
  reply request(bhttp::verb method, const std::string& target, const std::string& body = {},
                std::map<std::string, std::string> headers = {});
  /// Sends a request without reading the response (for in-flight tests).
  void send(bhttp::verb method, const std::string& target, const std::string& body,
            std::map<std::string, std::string> headers);
  /// Reads the next response.
  reply receive();
  /// True when the server closed this connection.
  bool closed_by_peer();

 private:
  boost::asio::io_context ioc_;
  boost::beast::tcp_stream stream_;
  boost::beast::flat_buffer buffer_;
};

/// One request on a new connection; `json_body` is sent as application/json unless null.
reply call(uint16_t port, bhttp::verb method, const std::string& target,
           const nlohmann::json& json_body = nullptr, const std::string& token = {});

/// A multipart/form-data body, built part by part: the one way tests make a form.
struct form {
  std::string boundary = "pixhive-test-boundary";
  std::string body;

  form() = default;
  explicit form(std::string boundary_) : boundary(std::move(boundary_)) {}
  /// A text part.
  form& field(const std::string& name, const std::string& value) { return part(name, value, ""); }
  /// A file part: `bytes` under `filename`, declared as `type`.
  form& file(const std::string& name, const std::string& bytes, const std::string& filename = "x",
             const std::string& type = "application/octet-stream") {
    return part(name, bytes, "; filename=\"" + filename + "\"\r\nContent-Type: " + type);
  }
  /// The whole body: the parts, then the closing boundary.
  std::string done() const { return body + "--" + boundary + "--\r\n"; }
  /// Its Content-Type.
  std::string type() const { return "multipart/form-data; boundary=" + boundary; }

 private:
  form& part(const std::string& name, const std::string& value, const std::string& file) {
    body += "--" + boundary + "\r\nContent-Disposition: form-data; name=\"" + name + "\"" + file +
            "\r\n\r\n" + value + "\r\n";
    return *this;
  }
};

/// Uploads `bytes` as a new photo (POST /api/v1/photos`query`, `query` such as
/// "?visibility=private&caption=…") of `token`'s owner, or anonymously when `token` is empty,
/// declared as `type`: the one way tests upload. The server's answer, whatever it is.
reply upload(http_connection& conn, const std::string& token, const std::string& bytes,
             const std::string& query = {}, const std::string& type = "application/octet-stream");
/// The same on a new connection.
reply upload(uint16_t port, const std::string& token, const std::string& bytes,
             const std::string& query = {}, const std::string& type = "application/octet-stream");
/// upload() that the server must accept (201): the new photo's id; "" after a test failure.
std::string upload_photo(uint16_t port, const std::string& token, const std::string& bytes,
                         const std::string& query = {},
                         const std::string& type = "application/octet-stream");

/// Polls photo `id` until processing has given its verdict (its status is no longer
/// "processing"): its record as `token`'s owner sees it (anonymously: once it is ready). After
/// `timeout`, a test failure and the last answer.
nlohmann::json settled_photo(uint16_t port, const std::string& id, const std::string& token,
                             std::chrono::milliseconds timeout = std::chrono::seconds(60));

/// A loopback port below the ephemeral range that was free a moment ago (for services that
/// must know a port in advance).
uint16_t free_port();

/// True when a TCP connection to 127.0.0.1:port is accepted.
bool can_connect(uint16_t port);

/// Polls `pred` every `every` until it holds (true) or `timeout` passes (false): the one way
/// tests wait for something that happens after a request (events, closes, metrics). `pred` is
/// asked once more at the deadline; a value it reads can be kept in a variable it captures,
/// for the caller to check or report. The timeout bounds a failing test only: make it generous.
bool eventually(const std::function<bool()>& pred,
                std::chrono::milliseconds timeout = std::chrono::seconds(10),
                std::chrono::milliseconds every = std::chrono::milliseconds(20));

/// A raw TCP connection to 127.0.0.1:port from `source` (another loopback address such as
/// 127.0.0.2 makes a second client), for tests that speak HTTP byte by byte.
class raw_connection {
 public:
  explicit raw_connection(uint16_t port, const std::string& source = "127.0.0.1");
  ~raw_connection();
  /// Sends bytes; false once the peer has closed or reset the connection.
  bool send(std::string_view bytes);
  /// Reads what arrives within `timeout` (until the peer closes, or `until` appears in it).
  std::string read(std::chrono::milliseconds timeout, std::string_view until = {});
  /// True when the peer closed the connection within `timeout`.
  bool closed_within(std::chrono::milliseconds timeout);

 private:
  /// Appends what one receive before `end` brings: its size, 0 when the peer closed, -1 when
  /// nothing came in time.
  ssize_t receive_some(std::chrono::steady_clock::time_point end, std::string& into);

  int fd_ = -1;
};

/// The peak resident memory of process `pid` in KiB (VmHWM), 0 when unknown.
int64_t peak_rss_kb(int pid);

/// Creates a verified user through `pixhive admin create-user` against `server`'s stores and
/// logs it in; returns the access token ("" and a test failure when either step fails).
std::string create_and_login(pixhive_server& server, const std::string& name, bool admin = false,
                             const std::string& password = "correct horse battery");

/// Keys and certificates for actor ports over mutual TLS, made at test time with the openssl
/// command in a temp dir: a CA, a certificate it signed, and a stranger's self-signed one.
class test_pki {
 public:
  test_pki();
  const std::string& ca() const { return ca_; }
  /// --actor-tls-cert/-key/-ca for a process of the cluster.
  std::vector<std::string> process_args() const;
  std::string cert() const { return dir_.path() + "/node.pem"; }
  std::string key() const { return dir_.path() + "/node.key"; }
  std::string stranger_cert() const { return dir_.path() + "/stranger.pem"; }
  std::string stranger_key() const { return dir_.path() + "/stranger.key"; }

 private:
  temp_dir dir_;
  std::string ca_;
};

/// The mails written to `<data_dir>/outbox` for `email`, newest first.
std::vector<std::string> mails_to(const std::string& data_dir, const std::string& email);

/// Reads the newest verification code written to `<data_dir>/outbox` for `email`.
std::string latest_code(const std::string& data_dir, const std::string& email);

/// A PostgreSQL server in a temp dir on a loopback port, run as the `postgres` user when root.
class postgres_server {
 public:
  /// Starts one; `available()` is false (with `why()`) when PostgreSQL is not installed.
  postgres_server();
  ~postgres_server();
  bool available() const { return pid_ > 0; }
  const std::string& why() const { return why_; }
  /// A URL for a new, empty database.
  std::string new_database();
  /// Stops the server (fast shutdown: clients are disconnected), for a test of an outage.
  void stop();
  /// Starts it again on the same port and data; false when it did not come up.
  bool start();

 private:
  std::string bin_;
  std::string user_;
  std::string dir_;
  std::string why_;
  std::unique_ptr<child_process> process_;
  int pid_ = -1;
  uint16_t port_ = 0;
  int databases_ = 0;
};

/// s3rver (from npm, installed by scripts/bootstrap) on a free loopback port with the bucket
/// `pixhive` (key pair S3RVER / S3RVER).
class s3rver_server {
 public:
  s3rver_server();
  bool available() const { return port_ != 0; }
  const std::string& why() const { return why_; }
  std::string endpoint() const { return "http://127.0.0.1:" + std::to_string(port_); }
  const std::string& dir() const { return dir_.path(); }

 private:
  temp_dir dir_;
  std::unique_ptr<child_process> proc_;
  std::string why_;
  uint16_t port_ = 0;
};

/// redis-server on a free loopback port in a temp dir; with `persistent`, every write is in the
/// append-only file before Redis answers (as scripts/cluster runs it), so a restart keeps it.
class redis_server {
 public:
  /// `extra` arguments go last (they win): a password, TLS ports.
  explicit redis_server(bool persistent = false, std::vector<std::string> extra = {});
  bool available() const { return port_ != 0; }
  const std::string& why() const { return why_; }
  uint16_t port() const { return port_; }
  /// Stops Redis (SIGTERM: it writes what it holds and exits).
  void stop();
  /// Starts it again on the same port and directory; false when it did not come up.
  bool start();

 private:
  bool persistent_;
  std::vector<std::string> extra_;
  temp_dir dir_;
  std::unique_ptr<child_process> proc_;
  std::string why_;
  uint16_t port_ = 0;
};

/// A TLS client in front of a TLS-only Redis (Debian's stunnel4): PixHive's plain redis://
/// connections to `port()` reach Redis at `tls_port` over TLS, the certificate checked against
/// `ca`. Empty why() when it runs.
class stunnel_client {
 public:
  stunnel_client(uint16_t tls_port, const std::string& ca);
  bool available() const { return port_ != 0; }
  const std::string& why() const { return why_; }
  uint16_t port() const { return port_; }

 private:
  temp_dir dir_;
  std::unique_ptr<child_process> proc_;
  std::string why_;
  uint16_t port_ = 0;
};

/// The process-wide PostgreSQL server, started on first use.
postgres_server& shared_postgres();

/// The stores a backend-parameterised suite runs on, named by its parameter:
///   "sqlite"          SQLite's pixhive.db in dir() (nothing to start; also what a
///                     default-constructed one is),
///   "postgres"        a new database on shared_postgres(),
///   "redis"           a Redis server of the test's own (and SQLite),
///   "postgres_redis"  both,
///   "folder"          a blob folder: dir(),
///   "s3"              an s3rver of the test's own (bucket `pixhive`, key pair S3RVER / S3RVER).
/// What every such fixture's SetUp starts, in one place:
///   if (!stores_.start(GetParam())) PIXHIVE_SKIP_MISSING(stores_.why());
class backends {
 public:
  /// Starts what `name` needs; false, with why(), when one of them is not installed (the caller
  /// skips). Throws when one is installed but does not start.
  bool start(const std::string& name);
  const std::string& why() const { return why_; }
  /// A folder of the test's own, removed with it: the data dir of a server on these stores.
  const std::string& dir() const { return dir_.path(); }
  bool postgres() const { return postgres_; }
  /// The SQL database: a PostgreSQL one, or SQLite's pixhive.db in dir() (where a server whose
  /// data dir is dir() keeps it).
  const std::string& db_url() const { return db_url_; }
  /// The Redis server, or nullptr.
  redis_server* redis() const { return redis_.get(); }
  /// redis://127.0.0.1:<port> of redis().
  std::string redis_url() const;
  /// The s3rver, or nullptr.
  s3rver_server* s3() const { return s3_.get(); }
  /// The options that put a `pixhive` on these stores (--db for PostgreSQL, --bus for Redis),
  /// then `more`.
  std::vector<std::string> server_args(std::vector<std::string> more = {}) const;
  /// A `pixhive` in mode `mode` on these stores, with dir() as its data dir and `more` options.
  std::unique_ptr<pixhive_server> server(std::vector<std::string> more = {},
                                         const std::string& mode = "all") const;

 private:
  temp_dir dir_;
  std::string why_;
  std::string db_url_ = "sqlite:" + dir_.path() + "/pixhive.db";
  bool postgres_ = false;
  std::unique_ptr<redis_server> redis_;
  std::unique_ptr<s3rver_server> s3_;
};

/// Names the tests of a backend-parameterised suite after their backend:
/// INSTANTIATE_TEST_SUITE_P(backends, suite, ::testing::Values("sqlite", "postgres"), backend_name)
inline constexpr auto backend_name = [](const auto& info) { return info.param; };

/// The key `server` signs access tokens with (its data dir's jwt.key), for a test that makes a
/// token of its own: one whose lifetime it chooses, or one without spending a login.
std::string jwt_key(const pixhive_server& server);

}  // namespace pixhive::testing
