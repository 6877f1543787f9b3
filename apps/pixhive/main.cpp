// The single PixHive binary: `pixhive [all]` runs every service in one process, `pixhive auth`
// runs one service, `pixhive admin …` does operator tasks. A mode is a subset of the service
// table (modules.cpp); what a row needs and this process does not run is linked to its replicas.
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <set>
#include <thread>

#include <cerrno>
#include <cstring>

#include <sys/stat.h>
#include <unistd.h>
#include <caf/all.hpp>
#include <caf/io/all.hpp>
#include <caf/openssl/all.hpp>

#include "modules.hpp"
#include "pixhive/auth/auth.hpp"
#include "pixhive/bus/bus.hpp"
#include "pixhive/bus/redis_bus.hpp"
#include "pixhive/contracts/idempotent.hpp"
#include "pixhive/core/ask.hpp"
#include "pixhive/core/config.hpp"
#include "pixhive/core/crypto.hpp"
#include "pixhive/core/log.hpp"
#include "pixhive/core/memory.hpp"
#include "pixhive/core/version.hpp"
#include "pixhive/feed/feed.hpp"
#include "pixhive/graph/graph.hpp"
#include "pixhive/http/server.hpp"
#include "pixhive/http/static_site.hpp"
#include "pixhive/imaging/models.hpp"
#include "pixhive/links/link.hpp"
#include "pixhive/media/media.hpp"
#include "pixhive/processing/processing.hpp"
#include "pixhive/search/search.hpp"

namespace {

using namespace pixhive;

constexpr const char* usage =
    "usage: pixhive [all|auth|media|processing|graph|feed|search] [options] run every service "
    "(default) "
    "or "
    "one\n"
    "       pixhive admin create-user --username NAME --email ADDR --password PW [--admin]\n"
    "       pixhive admin reindex   rebuild the search index from the users and photos\n"
    "       pixhive admin migrate   apply every service's database migrations, then exit\n"
    "       pixhive --version | --help\n";

void declare_common(options& opts) {
  opts.add("data-dir", "./data", "folder for the SQLite database, blobs, keys and the mail outbox")
      .add("db", "",
           "database URL: sqlite:PATH or postgres://user:pw@host:port/db (default: "
           "sqlite:<data-dir>/pixhive.db)")
      .add("log-level", "info", "debug, info, warn or error")
      .add("actor-port", "",
           "publish this process's service actors to other processes on this port (0 picks one); "
           "off when empty")
      .add("actor-address", "127.0.0.1", "address the actor port listens on")
      .add("actor-tls-cert", "",
           "PEM certificate of this process on actor ports; with --actor-tls-key and "
           "--actor-tls-ca, actor ports speak TLS and accept only peers whose certificate that CA "
           "signed (mutual TLS); all three or none")
      .add("actor-tls-key", "", "PEM private key of --actor-tls-cert")
      .add("actor-tls-ca", "", "PEM certificate of the CA that signs every process's certificate")
      .add("bus", "",
           "event bus: empty for in-process (all-in-one), or Redis Streams at "
           "redis://[[user]:password@]host[:port][/db]")
      .add("media-actor", "",
           "where the media service's actor port is, for the services that need it when this "
           "process does not run media: host:port, host:port,host:port, or a DNS name whose "
           "records are every replica (a Kubernetes headless Service); re-resolved every 5s")
      .add("auth-actor", "", "where the auth service's actor port is (as --media-actor)")
      .add("graph-actor", "",
           "where the graph service's actor port is (as --media-actor); media and auth on their "
           "own use it for like, comment and follower counts")
      .add("web-dir", PIXHIVE_WEB_DIR,
           "the built web app, served at / by the process that runs media (bootstrap builds "
           "web/ into web/dist); empty serves the API alone");
  http::server_config::declare(opts);
  app::declare_options(opts);
}

/// OpenCV reads its decoder pixel limit from the environment once, when the library loads (before
/// main): to put --max-megapixels in force inside the decoders' own header checks, the process
/// starts itself again with the variable set. Returns only when no restart was needed or
/// possible.
void put_decoder_limit_in_force(const options& opts, char** argv) {
  auto mp = opts.get_int("max-megapixels");
  if (!mp || *mp < 1) return;
  auto wanted = std::to_string(*mp * 1'000'000);
  const char* now = std::getenv("OPENCV_IO_MAX_IMAGE_PIXELS");
  if (now && wanted == now) return;
  if (std::getenv("PIXHIVE_DECODER_LIMIT_SET")) {
    log::warn("decoder_limit_not_in_force", {{"wanted", wanted}});
    return;
  }
  ::setenv("OPENCV_IO_MAX_IMAGE_PIXELS", wanted.c_str(), 1);
  ::setenv("PIXHIVE_DECODER_LIMIT_SET", "1", 1);
  ::execv("/proc/self/exe", argv);
  log::warn("decoder_limit_not_in_force", {{"wanted", wanted}, {"error", std::strerror(errno)}});
}

int fail(const caf::error& err) {
  auto p = to_problem(err);
  std::cerr << "pixhive: " << p.message << "\n";
  return 2;
}

/// The shared access-token key: --jwt-key, or one kept in <data-dir>/jwt.key (made on first use).
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

/// The event bus named by --bus: in-process when empty, Redis Streams for a redis:// URL.
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

struct runtime {
  std::shared_ptr<store::database> db;
  std::string jwt_key;
  std::unique_ptr<caf::actor_system_config> caf_cfg;
  std::unique_ptr<caf::actor_system> sys;
};

/// Opens the data folder, the database (with `connections` pooled) and the actor system shared
/// by every mode.
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
  contracts::add_auth_types(*rt.caf_cfg);
  contracts::add_processing_types(*rt.caf_cfg);
  contracts::add_graph_types(*rt.caf_cfg);
  contracts::add_feed_types(*rt.caf_cfg);
  contracts::add_search_types(*rt.caf_cfg);
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

/// Links `handle` to the replicas named by the service's --<name>-actor option.
template <class Handle>
result<void> link_to(caf::actor_system& sys, const options& opts, const std::string& name,
                     bool required, Handle& handle,
                     std::vector<std::shared_ptr<links::link>>& made) {
  auto option = name + "-actor";
  if (opts.get(option).empty())
    return make_error(errc::invalid_argument, "bad_config",
                      "this mode needs --" + option +
                          " (that service's --actor-port: host:port, a list, or a DNS name)");
  links::link_config cfg{name, opts.get(option), option};
  cfg.required = required;
  cfg.idempotent = contracts::is_idempotent;
  auto l = links::link::remote(sys, cfg);
  if (!l) return l.error();
  made.push_back(*l);
  handle = caf::actor_cast<Handle>((*l)->handle());
  return caf::unit;
}

int run_services(const std::string& mode, const options& opts) {
  auto server_cfg = http::server_config::from(opts);
  if (!server_cfg) return fail(server_cfg.error());
  auto selected = app::modules_of(mode);
  // Checked before anything opens: a bad option stops start-up with its message.
  auto cfg = app::configs::from(opts);
  if (!cfg) return fail(cfg.error());
  // The web app: read once before anything opens, served where no API route matches, by the
  // process that runs media (all-in-one, or the media Deployment behind the ingress's catch-all).
  std::shared_ptr<const http::static_site> site;
  bool serves_web = std::any_of(selected.begin(), selected.end(),
                                [](const app::module* m) { return m->name == "media"; });
  if (serves_web && !opts.get("web-dir").empty()) {
    // Without a built app the API still works: say so and go on.
    if (auto loaded = http::static_site::load(opts.get("web-dir")))
      site = *loaded;
    else
      log::warn("web_app_missing", {{"reason", to_problem(loaded.error()).message}});
  }
  // Tagging and moderation never run without their networks: no model, no start.
  for (auto* m : selected)
    if (m->name == "processing")
      if (auto loaded = imaging::use_models(cfg->processing.models); !loaded)
        return fail(loaded.error());
  size_t connections = 2;
  for (auto* m : selected) connections += m->connections(*cfg);
  auto rt = open_runtime(opts, connections);
  if (!rt) return fail(rt.error());
  cfg->auth.jwt_key = rt->jwt_key;
  server_cfg->service = mode;
  server_cfg->jwt_key = rt->jwt_key;
  auto& sys = *rt->sys;
  auto events = open_bus(opts.get("bus"));
  if (!events) return fail(events.error());
  // A disabled account's tokens stop working here as soon as auth says so.
  auto revocations = (*events)->listen(
      http::revocation_list::topic,
      [list = server_cfg->revoked](const std::string& message) { list->apply(message); });

  app::handles peers;
  app::context ctx{sys, opts, *cfg, rt->db, *events, peers, nullptr};
  // Every service another row needs and this process does not run is a link to its replicas
  // (required: the process is ready only while one answers); a wanted one only when its option
  // is given. The process starts whether or not they are up.
  std::set<std::string> local, required, wanted;
  for (auto* m : selected) local.insert(m->name);
  for (auto* m : selected) {
    for (auto& n : m->needs)
      if (!local.count(n)) required.insert(n);
    for (auto& n : m->wants)
      if (!local.count(n) && !opts.get(n + "-actor").empty()) wanted.insert(n);
  }
  std::vector<std::shared_ptr<links::link>> remote_links;
  for (const auto& n : required) wanted.erase(n);
  for (auto* names : {&required, &wanted})
    for (const auto& n : *names) {
      bool req = names == &required;
      auto r = n == "auth"    ? link_to(sys, opts, n, req, peers.auth, remote_links)
               : n == "media" ? link_to(sys, opts, n, req, peers.media, remote_links)
                              : link_to(sys, opts, n, req, peers.graph, remote_links);
      if (!r) return fail(r.error());
    }

  std::vector<app::started> running;
  std::vector<const app::module*> ordered = app::start_order(selected);
  for (auto* m : ordered) {
    if (auto r = m->migrate(*rt->db); !r) return fail(r.error());
    auto s = m->start(ctx);
    if (!s) return fail(s.error());
    running.push_back(std::move(*s));
  }
  auto routes = std::make_shared<http::router>();
  for (size_t i = 0; i < ordered.size(); ++i) ordered[i]->add_routes(ctx, running[i], *routes);
  if (site)
    routes->set_fallback([site](std::shared_ptr<http::context> c, http::responder respond) {
      auto path = std::string(c->req.target().substr(0, c->req.target().find('?')));
      respond(site->serve(c->req, path));
    });

  uint16_t actor_port = 0;
  if (!opts.get("actor-port").empty()) {
    if (running.size() != 1) {
      std::cerr
          << "pixhive: --actor-port publishes one service: run one service, e.g. `pixhive media`\n";
      return 2;
    }
    auto port = opts.get_int("actor-port");
    if (!port) return fail(port.error());
    auto result =
        running.front().publish(static_cast<uint16_t>(*port), opts.get("actor-address").c_str());
    if (!result) {
      std::cerr << "pixhive: cannot publish actors on port " << *port << ": "
                << sys.render(result.error()) << "\n";
      return 2;
    }
    actor_port = *result;
    log::info("actors_published", {{"actor_port", actor_port}, {"service", mode}});
  }

  http::server server{*server_cfg, routes};
  std::vector<std::function<void(std::function<void(bool)>)>> pings;
  for (auto& s : running) pings.push_back(s.ping);
  server.add_standard_routes(
      [pings](std::function<void(bool)> done) {
        // Ready when every service answers; the first failure decides.
        auto left = std::make_shared<std::atomic<int>>(static_cast<int>(pings.size()));
        auto failed = std::make_shared<std::atomic<bool>>(false);
        for (auto& p : pings)
          p([done, left, failed](bool ok) {
            if (!ok && !failed->exchange(true)) return done(false);
            if (--*left == 0 && !*failed) done(true);
          });
      },
      [remote_links](bool& ready) { return links::links_json(remote_links, ready); });
  auto port = server.listen();
  if (!port) return fail(port.error());
  log::info("listening", {{"port", *port},
                          {"metrics_port", server.metrics_port()},
                          {"address", server_cfg->address},
                          {"mode", mode},
                          {"version", version()},
                          {"database_connections", connections},
                          {"url", "http://localhost:" + std::to_string(*port)}});
  memory_releaser releaser{std::chrono::seconds(10)};
  server.run();

  if (actor_port) sys.middleman().unpublish(running.front().actor, actor_port);
  // The bus first: its consumers hand events to the actors until what is queued is delivered.
  (*events)->stop();
  for (auto& s : running) caf::anon_send_exit(s.actor, caf::exit_reason::user_shutdown);
  for (auto& l : remote_links) caf::anon_send_exit(l->handle(), caf::exit_reason::user_shutdown);
  // A worker may still be busy with requests whose clients are gone (a long queue of image
  // operations); the actor system waits for it, so bound that wait by the shutdown timeout.
  std::thread([timeout = server_cfg->shutdown_timeout] {
    std::this_thread::sleep_for(timeout);
    log::warn("shutdown_timeout", {{"waiting_for", "actors"}});
    std::_Exit(0);
  }).detach();
  log::info("stopped");
  return 0;
}

int admin_create_user(const options& opts) {
  auto rt = open_runtime(opts, 4);
  if (!rt) return fail(rt.error());
  auto auth_cfg = auth::auth_config::from(opts, rt->jwt_key);
  if (!auth_cfg) return fail(auth_cfg.error());
  auth_cfg->workers = 1;
  auto admin = opts.get_bool("admin");
  if (!admin) return fail(admin.error());
  if (opts.get("username").empty() || opts.get("email").empty() || opts.get("password").empty()) {
    std::cerr << "pixhive: admin create-user needs --username, --email and --password\n";
    return 2;
  }
  if (auto m = auth::migrate(*rt->db); !m) return fail(m.error());
  // In split mode the new user is announced on Redis; an in-process bus would die with this
  // command, so all-in-one search picks such users up when the server starts.
  std::shared_ptr<bus::event_bus> events;
  if (!opts.get("bus").empty()) {
    auto opened = open_bus(opts.get("bus"));
    if (!opened) return fail(opened.error());
    events = *opened;
  }
  auto actor = auth::spawn(*rt->sys, rt->db, events, *auth_cfg);
  caf::scoped_actor self{*rt->sys};
  int rc = 0;
  self->request(actor, default_request_timeout,
                contracts::create_user_request{opts.get("username"), opts.get("email"),
                                               opts.get("password"), *admin, true})
      .receive(
          [&](contracts::user_view& u) {
            std::cout << "created " << u.role << " " << u.username << " (id " << u.id << ")\n";
          },
          [&](caf::error& err) { rc = fail(err); });
  self->send_exit(actor, caf::exit_reason::user_shutdown);
  if (events) events->stop();
  return rc;
}

/// Applies the migrations of every service (and their outboxes) to --db: what a deployment runs
/// once before new replicas start (the Helm chart's hook Job). Services still migrate their own
/// tables on start, so running this is never required, only earlier.
int admin_migrate(const options& opts) {
  auto rt = open_runtime(opts, 2);
  if (!rt) return fail(rt.error());
  for (const auto* m : app::modules_of("all")) {
    if (auto r = m->migrate(*rt->db); !r) return fail(r.error());
    std::cout << "migrated " << m->name << "\n";
  }
  return 0;
}

/// Rebuilds the search index from what auth and media hold, over the same stores a server uses
/// (safe while it runs: the index is replaced in place and events keep it current after).
int admin_reindex(const options& opts) {
  auto rt = open_runtime(opts, 4);
  if (!rt) return fail(rt.error());
  auto auth_cfg = auth::auth_config::from(opts, rt->jwt_key);
  if (!auth_cfg) return fail(auth_cfg.error());
  auto media_cfg = media::media_config::from(opts);
  if (!media_cfg) return fail(media_cfg.error());
  auto search_cfg = search::search_config::from(opts);
  if (!search_cfg) return fail(search_cfg.error());
  auto blobs = media::open_blob_store(*media_cfg);
  if (!blobs) return fail(blobs.error());
  for (auto m : {auth::migrate(*rt->db), media::migrate(*rt->db), search::migrate(*rt->db)})
    if (!m) return fail(m.error());
  auto& sys = *rt->sys;
  std::shared_ptr<bus::event_bus> events{bus::make_in_process_bus()};
  auto a = auth::spawn(sys, rt->db, nullptr, *auth_cfg);
  auto m = media::spawn(sys, rt->db, std::move(*blobs), events, *media_cfg);
  auto s = search::spawn(sys, rt->db, events, {m, a, {}}, *search_cfg);
  caf::scoped_actor self{sys};
  int rc = 0;
  // Rebuilding reads every user and photo: minutes on a large site, never forever.
  self->request(s, std::chrono::seconds(3600), contracts::reindex_request{})
      .receive(
          [&](contracts::reindex_result& r) {
            std::cout << "reindexed " << r.users << " users and " << r.photos << " photos\n";
          },
          [&](caf::error& err) { rc = fail(err); });
  for (auto h : {caf::actor_cast<caf::actor>(a), caf::actor_cast<caf::actor>(m),
                 caf::actor_cast<caf::actor>(s)})
    self->send_exit(h, caf::exit_reason::user_shutdown);
  events->stop();
  return rc;
}

}  // namespace

int main(int argc, char** argv) {
  tune_allocator(argv);
  std::vector<std::string> args(argv + 1, argv + argc);
  std::string mode = "all";
  if (!args.empty() && args[0].rfind("-", 0) != 0) {
    mode = args[0];
    args.erase(args.begin());
  }
  options opts;
  declare_common(opts);
  if (mode == "admin") {
    opts.add("username", "", "user name of the account to create")
        .add("email", "", "email address of the account to create")
        .add("password", "", "password of the account to create (or set PIXHIVE_PASSWORD)")
        .add_flag("admin", "give the account the admin role");
  }
  for (const auto& a : args) {
    if (a == "--version") {
      std::cout << "pixhive " << version() << "\n";
      return 0;
    }
    if (a == "--help" || a == "-h") {
      std::cout << usage << "\noptions:\n" << opts.help();
      return 0;
    }
  }
  if (auto parsed = opts.parse(args); !parsed) return fail(parsed.error());
  log::init(opts.get("log-level"));
  put_decoder_limit_in_force(opts, argv);
  crypto::init();

  if (!app::modules_of(mode).empty()) {
    if (!opts.positional().empty()) {
      std::cerr << "pixhive: unexpected argument '" << opts.positional()[0] << "'\n" << usage;
      return 2;
    }
    return run_services(mode, opts);
  }
  if (mode == "admin") {
    if (opts.positional() == std::vector<std::string>{"create-user"})
      return admin_create_user(opts);
    if (opts.positional() == std::vector<std::string>{"reindex"}) return admin_reindex(opts);
    if (opts.positional() == std::vector<std::string>{"migrate"}) return admin_migrate(opts);
    std::cerr << usage;
    return 2;
  }
  std::cerr << "pixhive: unknown command '" << mode << "'\n" << usage;
  return 2;
}
