#include "runtime.hpp"

#include <filesystem>
#include <fstream>
#include <iostream>

#include <sys/stat.h>
#include <unistd.h>
#include <caf/io/middleman.hpp>
#include <caf/openssl/manager.hpp>

#include "pixhive/bus/redis_bus.hpp"
#include "pixhive/contracts/all.hpp"
#include "pixhive/core/crypto.hpp"
#include "pixhive/core/log.hpp"

namespace pixhive::app {

int fail(const caf::error& err) {
  auto p = to_problem(err);
  std::cerr << "pixhive: " << p.message << "\n";
  return 2;
}

result<std::string> resolve_jwt_key(const options& opts) {
  if (!opts.get("jwt-key").empty()) {
    if (opts.get("jwt-key").size() < 32)
      return make_error(errc::invalid_argument, "bad_config",
                        "option --jwt-key must be at least 32 characters");
    return opts.get("jwt-key");
  }
  namespace fs = std::filesystem;
  auto path = fs::path(opts.get("data-dir")) / "jwt.key";
  if (std::ifstream in{path}; in) {
    std::string key;
    std::getline(in, key);
    if (key.size() >= 32) return key;
  }
  auto key = crypto::random_token(48);
  auto tmp = path;
  tmp += ".tmp";
  {
    std::ofstream out{tmp};
    out << key << "\n";
    if (!out)
      return make_error(errc::invalid_argument, "bad_config", "cannot write " + path.string());
  }
  ::chmod(tmp.c_str(), 0600);
  std::error_code ec;
  fs::rename(tmp, path, ec);
  if (ec) return make_error(errc::invalid_argument, "bad_config", "cannot write " + path.string());
  log::info("jwt_key_created", {{"file", path.string()}});
  return key;
}

result<std::shared_ptr<bus::event_bus>> open_bus(const std::string& url) {
  if (url.empty()) return std::shared_ptr<bus::event_bus>(bus::make_in_process_bus());
  auto address = bus::redis_address::parse(url);
  if (!address) return address.error();
  bus::redis_bus_config cfg;
  cfg.address = std::move(*address);
  char host[256] = "pixhive";
  ::gethostname(host, sizeof host - 1);
  // The pod name on Kubernetes; with the pid, replicas sharing a host are told apart too.
  cfg.consumer = std::string(host) + ":" + std::to_string(::getpid());
  auto b = bus::make_redis_bus(cfg);
  if (!b) return b.error();
  return std::shared_ptr<bus::event_bus>(std::move(*b));
}

result<runtime> open_runtime(const options& opts, size_t connections) {
  runtime rt;
  std::error_code ec;
  std::filesystem::create_directories(opts.get("data-dir"), ec);
  if (ec)
    return make_error(errc::invalid_argument, "bad_config",
                      "cannot create data directory " + opts.get("data-dir") + ": " + ec.message());
  auto key = resolve_jwt_key(opts);
  if (!key) return key.error();
  rt.jwt_key = *key;
  auto url =
      opts.get("db").empty() ? "sqlite:" + opts.get("data-dir") + "/pixhive.db" : opts.get("db");
  auto db = store::database::open(url, connections);
  if (!db) return db.error();
  rt.db = *db;
  rt.caf_cfg = std::make_unique<caf::actor_system_config>();
  contracts::add_all_types(*rt.caf_cfg);
  rt.caf_cfg->load<caf::io::middleman>();
  auto cert = opts.get("actor-tls-cert"), key_file = opts.get("actor-tls-key"),
       ca = opts.get("actor-tls-ca");
  if (!cert.empty() || !key_file.empty() || !ca.empty()) {
    if (cert.empty() || key_file.empty() || ca.empty())
      return make_error(errc::invalid_argument, "bad_config",
                        "options --actor-tls-cert, --actor-tls-key and --actor-tls-ca go together");
    for (const auto& f : {cert, key_file, ca})
      if (!std::filesystem::is_regular_file(f))
        return make_error(errc::invalid_argument, "bad_config", "cannot read " + f);
    // With a CA file set, CAF's OpenSSL module verifies every peer, both ways.
    rt.caf_cfg->openssl_certificate = cert;
    rt.caf_cfg->openssl_key = key_file;
    rt.caf_cfg->openssl_cafile = ca;
    rt.caf_cfg->load<caf::openssl::manager>();
  }
  // The sharing policy measured fastest for request/reply between few actors on 2 cores.
  rt.caf_cfg->set("scheduler.policy", caf::atom("sharing"));
  // Messages from other processes are deserialised on the middleman's own thread instead of
  // being handed to deserialisation workers: on 2 cores the hand-off cost more than it saved
  // (bench/rpc_bench.sh: ~30k → ~50k pipelined requests/s).
  rt.caf_cfg->set("middleman.workers", size_t{0});
  rt.caf_cfg->set("logger.verbosity", caf::atom("quiet"));
  rt.sys = std::make_unique<caf::actor_system>(*rt.caf_cfg);
  return rt;
}

}  // namespace pixhive::app
