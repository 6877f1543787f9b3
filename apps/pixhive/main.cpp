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
#include "pixhive/contracts/all.hpp"
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
#include "runtime.hpp"

namespace {

using namespace pixhive;
using app::fail;
using app::open_bus;
using app::open_runtime;

/// The usage text, with every mode and admin command of the service table.
std::string usage() {
  std::string modes = "all", commands;
  for (const auto& m : app::service_table()) {
    modes += "|" + m.name;
    for (const auto& c : m.commands) commands += "       pixhive admin " + c.help + "\n";
  }
  return "usage: pixhive [" + modes + "] [options] run every service (default) or one\n" +
         commands +
         "       pixhive admin migrate   apply every service's database migrations, then exit\n"
         "       pixhive --version | --help\n";
}

void declare_common(options& opts) {
  opts.add("data-dir", "./data", "folder for the SQLite database, blobs, keys and the mail outbox")
      .add("db", "",
           "database URL: sqlite:PATH or postgres://user:pw@host:port/db (default: "
           "sqlite:<data-dir>/pixhive.db)")
      .add("log-level", "info", "debug, info, warn or error",
           check::one_of({"debug", "info", "warn", "error"}))
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
      .add("web-dir", PIXHIVE_WEB_DIR,
           "the built web app, served at / by the process that runs media (bootstrap builds "
           "web/ into web/dist); empty serves the API alone");
  http::server_config::declare(opts);
  app::declare_link_options(opts);
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

/// Links to the replicas of service `name` named by its --<name>-actor option.
result<std::shared_ptr<links::link>> link_to(caf::actor_system& sys, const options& opts,
                                             const std::string& name, bool required) {
  auto option = name + "-actor";
  if (opts.get(option).empty())
    return make_error(errc::invalid_argument, "bad_config",
                      "this mode needs --" + option +
                          " (that service's --actor-port: host:port, a list, or a DNS name)");
  links::link_config cfg{name, opts.get(option), option};
  cfg.required = required;
  cfg.idempotent = contracts::is_idempotent;
  return links::link::remote(sys, cfg);
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

  app::peers peers;
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
      auto l = link_to(sys, opts, n, names == &required);
      if (!l) return fail(l.error());
      remote_links.push_back(*l);
      peers.set(n, (*l)->handle());
    }

  std::vector<app::started> running;
  std::vector<const app::module*> ordered = app::start_order(selected);
  for (auto* m : ordered) {
    if (auto r = m->migrate(*rt->db); !r) return fail(r.error());
    auto s = m->start(ctx);
    if (!s) return fail(s.error());
    peers.set(m->name, s->actor);
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
  if (mode == "admin")
    for (const auto& m : app::service_table())
      for (const auto& c : m.commands)
        if (c.declare) c.declare(opts);
  for (const auto& a : args) {
    if (a == "--version") {
      std::cout << "pixhive " << version() << "\n";
      return 0;
    }
    if (a == "--help" || a == "-h") {
      std::cout << usage() << "\noptions:\n" << opts.help();
      return 0;
    }
  }
  if (auto parsed = opts.parse(args); !parsed) return fail(parsed.error());
  log::init(opts.get("log-level"));
  put_decoder_limit_in_force(opts, argv);
  crypto::init();

  if (!app::modules_of(mode).empty()) {
    if (!opts.positional().empty()) {
      std::cerr << "pixhive: unexpected argument '" << opts.positional()[0] << "'\n" << usage();
      return 2;
    }
    return run_services(mode, opts);
  }
  if (mode == "admin") {
    for (const auto& m : app::service_table())
      for (const auto& c : m.commands)
        if (opts.positional() == std::vector<std::string>{c.name}) return c.run(opts);
    if (opts.positional() == std::vector<std::string>{"migrate"}) return admin_migrate(opts);
    std::cerr << usage();
    return 2;
  }
  std::cerr << "pixhive: unknown command '" << mode << "'\n" << usage();
  return 2;
}
