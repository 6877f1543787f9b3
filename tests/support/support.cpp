#include "support.hpp"

#include "images.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <random>
#include <regex>
#include <set>
#include <sstream>
#include <stdexcept>

#include <gtest/gtest.h>

#include "pixhive/store/sql.hpp"

namespace pixhive::testing {

namespace fs = std::filesystem;
namespace net = boost::asio;
using tcp = net::ip::tcp;

temp_dir::temp_dir() {
  std::string tmpl = (fs::temp_directory_path() / "pixhive-test-XXXXXX").string();
  if (!mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp failed");
  path_ = tmpl;
}

temp_dir::~temp_dir() {
  std::error_code ec;
  fs::remove_all(path_, ec);
}

child_process::child_process(std::vector<std::string> argv, std::map<std::string, std::string> env,
                             std::string run_as) {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) throw std::runtime_error("pipe failed");
  struct passwd* pw = run_as.empty() ? nullptr : getpwnam(run_as.c_str());
  if (!run_as.empty() && !pw) throw std::runtime_error("no such user: " + run_as);
  pid_ = fork();
  if (pid_ < 0) throw std::runtime_error("fork failed");
  if (pid_ == 0) {
    dup2(fds[1], STDERR_FILENO);
    dup2(fds[1], STDOUT_FILENO);
    int devnull = open("/dev/null", O_RDONLY);
    dup2(devnull, STDIN_FILENO);
    for (auto& [k, v] : env) setenv(k.c_str(), v.c_str(), 1);
    if (pw && (setgid(pw->pw_gid) != 0 || setuid(pw->pw_uid) != 0)) _exit(126);
    std::vector<char*> cargv;
    for (auto& a : argv) cargv.push_back(a.data());
    cargv.push_back(nullptr);
    execv(cargv[0], cargv.data());
    _exit(127);
  }
  close(fds[1]);
  reader_ = std::thread([this, fd = fds[0]] {
    std::string partial;
    char buf[4096];
    for (;;) {
      auto n = read(fd, buf, sizeof buf);
      if (n <= 0) break;
      partial.append(buf, n);
      size_t pos;
      std::lock_guard<std::mutex> guard{mtx_};
      while ((pos = partial.find('\n')) != std::string::npos) {
        lines_.push_back(partial.substr(0, pos));
        partial.erase(0, pos + 1);
      }
      cv_.notify_all();
    }
    close(fd);
    std::lock_guard<std::mutex> guard{mtx_};
    if (!partial.empty()) lines_.push_back(partial);
    eof_ = true;
    cv_.notify_all();
  });
}

child_process::~child_process() {
  if (!exited_) {
    kill(pid_, SIGKILL);
    wait_exit(std::chrono::seconds(10));
  }
  if (reader_.joinable()) reader_.join();
}

std::optional<std::string> child_process::wait_for_line(
    const std::function<bool(const std::string&)>& pred, std::chrono::milliseconds timeout) {
  std::unique_lock<std::mutex> lock{mtx_};
  size_t seen = 0;
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    for (; seen < lines_.size(); ++seen)
      if (pred(lines_[seen])) return lines_[seen];
    if (eof_) return std::nullopt;
    if (cv_.wait_until(lock, deadline) == std::cv_status::timeout) return std::nullopt;
  }
}

void child_process::signal(int sig) {
  if (!exited_) kill(pid_, sig);
}

std::optional<int> child_process::wait_exit(std::chrono::milliseconds timeout) {
  if (exited_) return exit_code_;
  // The reader thread sees EOF when the child (and anything it forked holding the pipe) exits.
  {
    std::unique_lock<std::mutex> lock{mtx_};
    cv_.wait_for(lock, timeout, [&] { return eof_; });
  }
  int status = 0;
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    auto r = waitpid(pid_, &status, WNOHANG);
    if (r == pid_) break;
    if (std::chrono::steady_clock::now() > deadline) return std::nullopt;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  exited_ = true;
  exit_code_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return exit_code_;
}

std::string child_process::output() {
  std::lock_guard<std::mutex> guard{mtx_};
  std::string out;
  for (auto& l : lines_) out += l + "\n";
  return out;
}

std::vector<std::string> real_photos() {
  auto dir = fs::path(PIXHIVE_SOURCE_DIR) / ".cache" / "photos";
  std::vector<fs::path> files;
  if (fs::exists(dir))
    for (auto& e : fs::directory_iterator(dir))
      if (e.path().extension() == ".jpg") files.push_back(e.path());
  std::sort(files.begin(), files.end());
  std::vector<std::string> out;
  for (auto& f : files) {
    std::ifstream in{f, std::ios::binary};
    std::stringstream ss;
    ss << in.rdbuf();
    out.push_back(ss.str());
  }
  return out;
}

bool backends_required() {
  const char* v = std::getenv("PIXHIVE_REQUIRE_BACKENDS");
  return v && std::string(v) == "1";
}

std::string pixhive_binary() {
  return PIXHIVE_BINARY;
}

namespace {

std::optional<uint16_t> json_port(const std::string& line, const char* event, const char* key) {
  auto j = nlohmann::json::parse(line, nullptr, false);
  if (!j.is_object() || j.value("event", "") != event || !j.contains(key)) return std::nullopt;
  return j[key].get<uint16_t>();
}

}  // namespace

pixhive_server::pixhive_server(std::vector<std::string> args, std::string mode,
                               std::map<std::string, std::string> env, std::string data_dir)
    : data_dir_(std::move(data_dir)), args_(std::move(args)) {
  if (data_dir_.empty()) {
    owned_dir_ = std::make_unique<temp_dir>();
    data_dir_ = owned_dir_->path();
  }
  std::vector<std::string> argv{pixhive_binary(), mode,        "--port",     "0",
                                "--address",      "127.0.0.1", "--data-dir", data_dir_};
  argv.insert(argv.end(), args_.begin(), args_.end());
  bool sets_limits = std::any_of(args_.begin(), args_.end(), [](const std::string& a) {
    return a.rfind("--rate-limit", 0) == 0;
  });
  if (!sets_limits) argv.insert(argv.end(), {"--rate-limits", "off"});
  proc_ = std::make_unique<child_process>(argv, std::move(env));
  bool wants_actor = std::find(args_.begin(), args_.end(), "--actor-port") != args_.end();
  if (wants_actor) {
    auto line = proc_->wait_for_line([](const std::string& l) {
      return json_port(l, "actors_published", "actor_port").has_value();
    });
    if (!line) throw std::runtime_error("pixhive did not publish its actors:\n" + proc_->output());
    actor_port_ = *json_port(*line, "actors_published", "actor_port");
  }
  auto line = proc_->wait_for_line(
      [](const std::string& l) { return json_port(l, "listening", "port").has_value(); });
  if (!line) throw std::runtime_error("pixhive did not start:\n" + proc_->output());
  port_ = *json_port(*line, "listening", "port");
  metrics_port_ = json_port(*line, "listening", "metrics_port").value_or(0);
}

nlohmann::json reply::json() const {
  return nlohmann::json::parse(body, nullptr, false);
}

std::string reply::error_code() const {
  auto j = json();
  if (j.is_object() && j.contains("error") && j["error"].is_object() && j["error"].contains("code"))
    return j["error"]["code"].get<std::string>();
  return {};
}

http_connection::http_connection(uint16_t port) : stream_(ioc_) {
  stream_.connect(tcp::endpoint{net::ip::make_address("127.0.0.1"), port});
}

void http_connection::send(bhttp::verb method, const std::string& target, const std::string& body,
                           std::map<std::string, std::string> headers) {
  bhttp::request<bhttp::string_body> req{method, target, 11};
  req.set(bhttp::field::host, "127.0.0.1");
  for (auto& [k, v] : headers) req.set(k, v);
  req.body() = body;
  if (!body.empty() || method == bhttp::verb::post || method == bhttp::verb::patch)
    req.prepare_payload();
  stream_.expires_after(process_patience);
  bhttp::write(stream_, req);
}

reply http_connection::receive() {
  bhttp::response_parser<bhttp::string_body> parser;
  parser.body_limit(64 * 1024 * 1024);
  stream_.expires_after(process_patience);
  bhttp::read(stream_, buffer_, parser);
  auto& res = parser.get();
  reply out;
  out.status = res.result_int();
  for (auto& f : res) out.headers[std::string(f.name_string())] = std::string(f.value());
  out.body = res.body();
  return out;
}

reply http_connection::request(bhttp::verb method, const std::string& target,
                               const std::string& body,
                               std::map<std::string, std::string> headers) {
  // Like curl, a large body waits for 100 Continue: a server that refuses it from the header
  // closes without reading it, and a client that kept writing would only see a reset.
  if (body.size() <= 1024 * 1024 || headers.count("Expect")) {
    send(method, target, body, std::move(headers));
    return receive();
  }
  bhttp::request<bhttp::string_body> req{method, target, 11};
  req.set(bhttp::field::host, "127.0.0.1");
  for (auto& [k, v] : headers) req.set(k, v);
  req.set(bhttp::field::expect, "100-continue");
  req.body() = body;
  req.prepare_payload();
  bhttp::request_serializer<bhttp::string_body> writer{req};
  stream_.expires_after(process_patience);
  bhttp::write_header(stream_, writer);
  auto first = receive();
  if (first.status != 100) return first;
  bhttp::write(stream_, writer);
  return receive();
}

bool http_connection::closed_by_peer() {
  boost::beast::error_code ec;
  char c;
  stream_.expires_after(std::chrono::seconds(10));
  stream_.socket().read_some(net::buffer(&c, 1), ec);
  return ec == net::error::eof || ec == net::error::connection_reset;
}

double pixhive_server::metric(const std::string& series) const {
  auto body = call(metrics_port_, bhttp::verb::get, "/metrics").body;
  auto at = body.find("\n" + series + " ");
  return at == std::string::npos ? 0 : std::stod(body.substr(at + series.size() + 2));
}

reply call(uint16_t port, bhttp::verb method, const std::string& target,
           const nlohmann::json& json_body, const std::string& token) {
  http_connection conn{port};
  std::map<std::string, std::string> headers;
  std::string body;
  if (!json_body.is_null()) {
    headers["Content-Type"] = "application/json";
    body = json_body.dump();
  }
  if (!token.empty()) headers["Authorization"] = "Bearer " + token;
  return conn.request(method, target, body, headers);
}

reply upload(http_connection& conn, const std::string& token, const std::string& bytes,
             const std::string& query, const std::string& type) {
  std::map<std::string, std::string> headers{{"Content-Type", type}};
  if (!token.empty()) headers["Authorization"] = "Bearer " + token;
  return conn.request(bhttp::verb::post, "/api/v1/photos" + query, bytes, headers);
}

reply upload(uint16_t port, const std::string& token, const std::string& bytes,
             const std::string& query, const std::string& type) {
  http_connection conn{port};
  return upload(conn, token, bytes, query, type);
}

std::string upload_photo(uint16_t port, const std::string& token, const std::string& bytes,
                         const std::string& query, const std::string& type) {
  auto r = upload(port, token, bytes, query, type);
  EXPECT_EQ(r.status, 201) << r.body;
  auto j = r.json();
  return r.status == 201 && j.is_object() ? j.value("id", "") : "";
}

nlohmann::json settled_photo(uint16_t port, const std::string& id, const std::string& token,
                             std::chrono::milliseconds timeout) {
  nlohmann::json p;
  EXPECT_TRUE(eventually(
      [&] {
        p = call(port, bhttp::verb::get, "/api/v1/photos/" + id, nullptr, token).json();
        return p.is_object() && p.value("status", "processing") != "processing";
      },
      timeout))
      << "photo " << id << " did not settle: " << p.dump();
  return p;
}

bool can_connect(uint16_t port) {
  net::io_context ioc;
  tcp::socket s{ioc};
  boost::system::error_code ec;
  s.connect(tcp::endpoint{net::ip::make_address("127.0.0.1"), port}, ec);
  return !ec;
}

std::string create_and_login(pixhive_server& server, const std::string& name, bool admin,
                             const std::string& password) {
  std::vector<std::string> argv{
      pixhive_binary(), "admin",       "create-user", "--data-dir",          server.data_dir(),
      "--username",     name,          "--email",     name + "@example.com", "--password",
      password,         "--log-level", "warn"};
  argv.insert(argv.end(), server.args().begin(), server.args().end());
  if (admin) argv.push_back("--admin");
  child_process cli{argv};
  auto rc = cli.wait_exit();
  if (rc != 0) {
    ADD_FAILURE() << "create-user failed: " << cli.output();
    return {};
  }
  auto r = call(server.port(), bhttp::verb::post, "/api/v1/auth/login",
                {{"login", name}, {"password", password}});
  if (r.status != 200) {
    ADD_FAILURE() << "login failed: " << r.body;
    return {};
  }
  return r.json()["access_token"].get<std::string>();
}

test_pki::test_pki() : ca_(dir_.path() + "/ca.pem") {
  auto run = [&](const std::string& args) {
    auto cmd = "cd '" + dir_.path() + "' && openssl " + args + " >/dev/null 2>&1";
    if (std::system(cmd.c_str()) != 0) throw std::runtime_error("failed: openssl " + args);
  };
  const std::string rsa = "-newkey rsa:2048 -nodes -days 2";
  run("req -x509 " + rsa + " -keyout ca.key -out ca.pem -subj /CN=pixhive-test-ca");
  run("req " + rsa.substr(0, rsa.find(" -days")) +
      " -keyout node.key -out node.csr -subj /CN=pixhive-node");
  run("x509 -req -in node.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out node.pem -days 2");
  run("req -x509 " + rsa + " -keyout stranger.key -out stranger.pem -subj /CN=stranger");
}

std::vector<std::string> test_pki::process_args() const {
  return {"--actor-tls-cert", cert(), "--actor-tls-key", key(), "--actor-tls-ca", ca_};
}

std::vector<std::string> mails_to(const std::string& data_dir, const std::string& email) {
  std::vector<fs::path> files;
  std::error_code ec;
  for (auto& e : fs::directory_iterator(fs::path(data_dir) / "outbox", ec))
    if (e.path().extension() == ".eml") files.push_back(e.path());
  std::sort(files.begin(), files.end());
  std::vector<std::string> out;
  for (auto it = files.rbegin(); it != files.rend(); ++it) {
    std::ifstream in{*it};
    std::stringstream ss;
    ss << in.rdbuf();
    auto text = ss.str();
    if (text.find("To: <" + email + ">") != std::string::npos) out.push_back(std::move(text));
  }
  return out;
}

std::string latest_code(const std::string& data_dir, const std::string& email) {
  static const std::regex code_re("verification code is ([0-9]{6})");
  for (const auto& text : mails_to(data_dir, email)) {
    std::smatch m;
    if (std::regex_search(text, m, code_re)) return m[1];
  }
  return {};
}

uint16_t free_port() {
  // Below the kernel's ephemeral range (32768-60999): a port the kernel hands out may become
  // some process's outgoing connection's local port before the service binds it (the split
  // tests' links connect while later services are still starting), and then the bind fails.
  thread_local std::mt19937 rng{std::random_device{}()};
  std::uniform_int_distribution<int> pick{20000, 32767};
  net::io_context ioc;
  for (int i = 0; i < 1000; ++i) {
    auto port = static_cast<uint16_t>(pick(rng));
    tcp::acceptor acc{ioc};
    boost::system::error_code ec;
    acc.open(tcp::v4(), ec);
    if (!ec) acc.bind(tcp::endpoint{net::ip::make_address("127.0.0.1"), port}, ec);
    if (!ec) return port;
  }
  throw std::runtime_error("free_port: no free port in 20000-32767");
}

namespace {

std::string find_pg_bin() {
  std::vector<fs::path> found;
  std::error_code ec;
  for (auto& e : fs::directory_iterator("/usr/lib/postgresql", ec))
    if (fs::exists(e.path() / "bin" / "postgres")) found.push_back(e.path() / "bin");
  if (found.empty()) return {};
  std::sort(found.begin(), found.end());
  return found.back().string();
}

}  // namespace

postgres_server::postgres_server() {
  auto bin = find_pg_bin();
  if (bin.empty()) {
    why_ =
        "PostgreSQL is not installed (no /usr/lib/postgresql/*/bin/postgres); run "
        "scripts/bootstrap";
    return;
  }
  std::string tmpl = (fs::temp_directory_path() / "pixhive-pg-XXXXXX").string();
  if (!mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp failed");
  dir_ = tmpl;
  // PostgreSQL refuses to run as root: as root, run it as the `postgres` user.
  std::string user = geteuid() == 0 ? "postgres" : "";
  if (!user.empty()) {
    auto* pw = getpwnam("postgres");
    if (!pw) {
      why_ = "running as root and there is no postgres user to run PostgreSQL as";
      return;
    }
    if (chown(dir_.c_str(), pw->pw_uid, pw->pw_gid) != 0) throw std::runtime_error("chown failed");
  }
  {
    child_process initdb({bin + "/initdb", "-D", dir_ + "/data", "-A", "trust", "-U", "postgres",
                          "-E", "UTF8", "--no-sync"},
                         {}, user);
    auto rc = initdb.wait_exit(std::chrono::seconds(120));
    if (rc != 0) throw std::runtime_error("initdb failed:\n" + initdb.output());
  }
  bin_ = bin;
  user_ = user;
  port_ = free_port();
  if (!start()) throw std::runtime_error("PostgreSQL did not start:\n" + why_);
}

bool postgres_server::start() {
  auto proc = std::make_unique<child_process>(
      std::vector<std::string>{bin_ + "/postgres", "-D", dir_ + "/data", "-k", dir_, "-p",
                               std::to_string(port_), "-c", "listen_addresses=127.0.0.1", "-c",
                               "fsync=off", "-c", "synchronous_commit=off", "-c",
                               "full_page_writes=off"},
      std::map<std::string, std::string>{}, user_);
  auto ready = proc->wait_for_line(
      [](const std::string& l) {
        return l.find("ready to accept connections") != std::string::npos;
      },
      process_patience);
  if (!ready) {
    why_ = proc->output();
    return false;
  }
  pid_ = proc->pid();
  process_ = std::move(proc);
  return true;
}

void postgres_server::stop() {
  if (!process_) return;
  process_->signal(SIGINT);  // fast shutdown
  process_->wait_exit(std::chrono::seconds(30));
  process_.reset();
}

postgres_server::~postgres_server() {
  stop();
  if (!dir_.empty()) {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
}

std::string postgres_server::new_database() {
  auto admin_url = "postgresql://postgres@127.0.0.1:" + std::to_string(port_) + "/postgres";
  auto db = store::database::open(admin_url, 1);
  if (!db) throw std::runtime_error("cannot connect to the test PostgreSQL server");
  auto name = "pixhive_test_" + std::to_string(++databases_);
  if (auto r = (*db)->query("CREATE DATABASE " + name); !r)
    throw std::runtime_error("CREATE DATABASE failed");
  return "postgresql://postgres@127.0.0.1:" + std::to_string(port_) + "/" + name;
}

s3rver_server::s3rver_server() {
  auto bin = std::string(PIXHIVE_SOURCE_DIR) + "/node_modules/.bin/s3rver";
  if (!fs::exists(bin)) {
    why_ = bin + " is missing; scripts/bootstrap installs it with npm";
    return;
  }
  proc_ = std::make_unique<child_process>(std::vector<std::string>{
      bin, "-d", dir_.path(), "-a", "127.0.0.1", "-p", "0", "--configure-bucket", "pixhive"});
  static const std::regex listening(R"(S3rver listening on 127\.0\.0\.1:([0-9]+))");
  auto line =
      proc_->wait_for_line([](const std::string& l) { return std::regex_search(l, listening); });
  if (!line) throw std::runtime_error("s3rver did not start:\n" + proc_->output());
  std::smatch m;
  std::regex_search(*line, m, listening);
  port_ = static_cast<uint16_t>(std::stoi(m[1]));
}

redis_server::redis_server(bool persistent, std::vector<std::string> extra)
    : persistent_(persistent), extra_(std::move(extra)) {
  const std::string bin = "/usr/bin/redis-server";
  if (!fs::exists(bin)) {
    why_ = "redis-server is not installed; run scripts/bootstrap";
    return;
  }
  port_ = free_port();
  if (!start()) throw std::runtime_error("redis-server did not start:\n" + why_);
}

bool redis_server::start() {
  std::vector<std::string> argv{"/usr/bin/redis-server",
                                "--port",
                                std::to_string(port_),
                                "--bind",
                                "127.0.0.1",
                                "--save",
                                "",
                                "--dir",
                                dir_.path()};
  for (auto a : persistent_
                    ? std::vector<std::string>{"--appendonly", "yes", "--appendfsync", "always"}
                    : std::vector<std::string>{"--appendonly", "no"})
    argv.push_back(a);
  argv.insert(argv.end(), extra_.begin(), extra_.end());
  proc_ = std::make_unique<child_process>(argv);
  auto ready = proc_->wait_for_line([](const std::string& l) {
    return l.find("Ready to accept connections") != std::string::npos;
  });
  if (!ready) why_ = proc_->output();
  return ready.has_value();
}

void redis_server::stop() {
  if (!proc_) return;
  proc_->signal(SIGTERM);
  proc_->wait_exit();
  proc_.reset();
}

stunnel_client::stunnel_client(uint16_t tls_port, const std::string& ca) {
  const std::string bin = "/usr/bin/stunnel4";
  if (!fs::exists(bin)) {
    why_ = "stunnel4 is not installed; run scripts/bootstrap";
    return;
  }
  auto port = free_port();
  auto conf = dir_.path() + "/stunnel.conf";
  std::ofstream out{conf};
  out << "foreground = yes\npid =\n[redis]\nclient = yes\naccept = 127.0.0.1:" << port
      << "\nconnect = 127.0.0.1:" << tls_port << "\nCAfile = " << ca << "\nverifyChain = yes\n";
  out.close();
  proc_ = std::make_unique<child_process>(std::vector<std::string>{bin, conf});
  if (!eventually([&] { return can_connect(port); }, process_patience)) {
    why_ = "stunnel did not start: " + proc_->output();
    return;
  }
  port_ = port;
}

postgres_server& shared_postgres() {
  static postgres_server instance;
  return instance;
}

bool backends::start(const std::string& name) {
  static const std::set<std::string> known{"sqlite",         "postgres", "redis",
                                           "postgres_redis", "folder",   "s3"};
  if (!known.count(name)) throw std::invalid_argument("no such backend: " + name);
  auto missing = [&](const std::string& reason) {
    why_ = "skipping the " + name + " run: " + reason;
    return false;
  };
  bool wants_postgres = name == "postgres" || name == "postgres_redis";
  if (wants_postgres && !shared_postgres().available()) return missing(shared_postgres().why());
  if (name == "redis" || name == "postgres_redis") {
    redis_ = std::make_unique<redis_server>();
    if (!redis_->available()) return missing(redis_->why());
  }
  if (name == "s3") {
    s3_ = std::make_unique<s3rver_server>();
    if (!s3_->available()) return missing(s3_->why());
  }
  if (wants_postgres) {
    db_url_ = shared_postgres().new_database();
    postgres_ = true;
  }
  return true;
}

std::string backends::redis_url() const {
  return redis_ ? "redis://127.0.0.1:" + std::to_string(redis_->port()) : std::string();
}

std::vector<std::string> backends::server_args(std::vector<std::string> more) const {
  std::vector<std::string> args;
  if (postgres_) args.insert(args.end(), {"--db", db_url_});
  if (redis_) args.insert(args.end(), {"--bus", redis_url()});
  args.insert(args.end(), more.begin(), more.end());
  return args;
}

std::unique_ptr<pixhive_server> backends::server(std::vector<std::string> more,
                                                 const std::string& mode) const {
  return std::make_unique<pixhive_server>(server_args(std::move(more)), mode,
                                          std::map<std::string, std::string>{}, dir());
}

std::string jwt_key(const pixhive_server& server) {
  std::ifstream in{server.data_dir() + "/jwt.key"};
  std::string key;
  std::getline(in, key);
  return key;
}

}  // namespace pixhive::testing

namespace pixhive::testing {

bool eventually(const std::function<bool()>& pred, std::chrono::milliseconds timeout,
                std::chrono::milliseconds every) {
  auto until = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    if (pred()) return true;
    if (std::chrono::steady_clock::now() >= until) return false;
    std::this_thread::sleep_for(every);
  }
}

raw_connection::raw_connection(uint16_t port, const std::string& source) {
  fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in local{};
  local.sin_family = AF_INET;
  ::inet_pton(AF_INET, source.c_str(), &local.sin_addr);
  if (::bind(fd_, reinterpret_cast<sockaddr*>(&local), sizeof local) != 0)
    throw std::runtime_error("cannot bind to " + source);
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_port = htons(port);
  ::inet_pton(AF_INET, "127.0.0.1", &to.sin_addr);
  if (::connect(fd_, reinterpret_cast<sockaddr*>(&to), sizeof to) != 0)
    throw std::runtime_error("cannot connect to port " + std::to_string(port));
}

raw_connection::~raw_connection() {
  if (fd_ >= 0) ::close(fd_);
}

bool raw_connection::send(std::string_view bytes) {
  while (!bytes.empty()) {
    auto n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (n <= 0) return false;
    bytes.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

ssize_t raw_connection::receive_some(std::chrono::steady_clock::time_point end, std::string& into) {
  auto left =
      std::chrono::duration_cast<std::chrono::milliseconds>(end - std::chrono::steady_clock::now())
          .count();
  if (left <= 0) return -1;
  pollfd p{fd_, POLLIN, 0};
  if (::poll(&p, 1, static_cast<int>(left)) <= 0) return -1;
  char buf[65536];
  auto n = ::recv(fd_, buf, sizeof buf, 0);
  if (n <= 0) return 0;
  into.append(buf, static_cast<size_t>(n));
  return n;
}

std::string raw_connection::read(std::chrono::milliseconds timeout, std::string_view until) {
  std::string got;
  auto end = std::chrono::steady_clock::now() + timeout;
  while (receive_some(end, got) > 0)
    if (!until.empty() && got.find(until) != std::string::npos) break;
  return got;
}

bool raw_connection::closed_within(std::chrono::milliseconds timeout) {
  auto end = std::chrono::steady_clock::now() + timeout;
  std::string ignored;
  for (;;) {
    auto n = receive_some(end, ignored);
    if (n <= 0) return n == 0;
    ignored.clear();
  }
}

int64_t peak_rss_kb(int pid) {
  std::ifstream in{"/proc/" + std::to_string(pid) + "/status"};
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("VmHWM:", 0) == 0) return std::atoll(line.c_str() + 6);
  return 0;
}

}  // namespace pixhive::testing
