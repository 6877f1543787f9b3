#include "modules.hpp"

#include <algorithm>
#include <iostream>
#include <set>

#include <caf/all.hpp>
#include <caf/io/all.hpp>
#include <caf/openssl/all.hpp>

#include "pixhive/core/ask.hpp"
#include "runtime.hpp"

namespace pixhive::app {

namespace {

/// The pieces every row's start returns, for a typed handle.
template <class Handle>
started started_from(caf::actor_system& sys, Handle h) {
  started s;
  s.actor = caf::actor_cast<caf::actor>(h);
  // Publishing needs the typed handle: the middleman sends its interface to the other side.
  s.publish = [&sys, h](uint16_t port, const char* address) {
    // With certificates configured the port speaks mutual TLS, and a peer without a certificate
    // of the cluster's CA cannot even start the handshake.
    if (sys.has_openssl_manager()) return caf::openssl::publish(h, port, address, true);
    return sys.middleman().publish(h, port, address, true);
  };
  s.ping = [&sys, h](std::function<void(bool)> done) {
    ask(
        sys, h, [done](contracts::done&) { done(true); }, [done](caf::error&) { done(false); },
        contracts::ping_request{});
  };
  return s;
}

size_t workers_plus_bus(int workers) {
  // One more for the bus handler's thread and one for the outbox relay.
  return static_cast<size_t>(workers) + 2;
}

void declare_create_user(options& opts) {
  opts.add("username", "", "user name of the account to create")
      .add("email", "", "email address of the account to create")
      .add("password", "", "password of the account to create (or set PIXHIVE_PASSWORD)")
      .add_flag("admin", "give the account the admin role");
}

/// Creates an account directly (the first admin, before anyone can sign up).
int create_user(const options& opts) {
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

/// Rebuilds the search index from what auth and media hold, over the same stores a server uses
/// (safe while it runs: the index is replaced in place and events keep it current after).
int reindex(const options& opts) {
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

void declare_options(options& opts) {
  auth::auth_config::declare(opts);
  media::media_config::declare(opts);
  processing::processing_config::declare(opts);
  graph::graph_config::declare(opts);
  feed::feed_config::declare(opts);
  search::search_config::declare(opts);
}

result<configs> configs::from(const options& opts) {
  configs c;
  caf::error err;
  auto take = [&err](auto& out, auto parsed) {
    if (!parsed) err = parsed.error();
    if (parsed) out = std::move(*parsed);
    return static_cast<bool>(parsed);
  };
  if (take(c.auth, auth::auth_config::from(opts, "")) &&
      take(c.media, media::media_config::from(opts)) &&
      take(c.processing, processing::processing_config::from(opts)) &&
      take(c.graph, graph::graph_config::from(opts)) &&
      take(c.feed, feed::feed_config::from(opts)) &&
      take(c.search, search::search_config::from(opts)))
    return c;
  return err;
}

result<std::shared_ptr<store::blob_store>> context::blobs() {
  if (!blobs_) {
    auto opened = media::open_blob_store(cfg.media);
    if (!opened) return opened.error();
    blobs_ = std::move(*opened);
  }
  return blobs_;
}

const std::vector<module>& service_table() {
  using namespace contracts;
  static const std::vector<module> table{
      {.name = "auth",
       .needs = {},
       .wants = {"graph", "media"},
       .connections = [](const configs& c) { return workers_plus_bus(c.auth.workers); },
       .migrate = [](store::database& db) { return auth::migrate(db); },
       .start = [](context& ctx) -> result<started> {
         return started_from(ctx.sys, auth::spawn(ctx.sys, ctx.db, ctx.events, ctx.cfg.auth));
       },
       .add_routes =
           [](context& ctx, const started& self, http::router& routes) {
             auth::add_routes(
                 routes, ctx.sys, caf::actor_cast<auth_actor>(self.actor),
                 {ctx.peers.get<graph_actor>("graph"), ctx.peers.get<media_actor>("media")},
                 ctx.cfg.auth.refresh_ttl);
           },
       .commands = {{.name = "create-user",
                     .help = "create-user --username NAME --email ADDR --password PW [--admin]",
                     .declare = declare_create_user,
                     .run = create_user}}},
      {.name = "media",
       .needs = {},
       .wants = {"graph"},
       .connections = [](const configs& c) { return workers_plus_bus(c.media.workers); },
       .migrate = [](store::database& db) { return media::migrate(db); },
       .start = [](context& ctx) -> result<started> {
         auto blobs = ctx.blobs();
         if (!blobs) return blobs.error();
         return started_from(ctx.sys,
                             media::spawn(ctx.sys, ctx.db, *blobs, ctx.events, ctx.cfg.media));
       },
       .add_routes =
           [](context& ctx, const started& self, http::router& routes) {
             media::add_routes(routes, ctx.sys, caf::actor_cast<media_actor>(self.actor),
                               ctx.cfg.media, ctx.peers.get<graph_actor>("graph"));
           }},
      {.name = "processing",
       .needs = {"media"},
       .wants = {},
       .connections = [](const configs& c) { return workers_plus_bus(c.processing.workers); },
       .migrate = [](store::database& db) { return processing::migrate(db); },
       .start = [](context& ctx) -> result<started> {
         auto blobs = ctx.blobs();
         if (!blobs) return blobs.error();
         return started_from(
             ctx.sys, processing::spawn(ctx.sys, ctx.db, *blobs, ctx.events,
                                        ctx.peers.get<media_actor>("media"), ctx.cfg.processing));
       },
       .add_routes =
           [](context& ctx, const started& self, http::router& routes) {
             processing::add_routes(routes, ctx.sys, caf::actor_cast<processing_actor>(self.actor),
                                    ctx.events, ctx.cfg.processing);
           }},
      {.name = "graph",
       .needs = {"auth", "media"},
       .wants = {},
       .connections = [](const configs& c) { return workers_plus_bus(c.graph.workers); },
       .migrate = [](store::database& db) { return graph::migrate(db); },
       .start = [](context& ctx) -> result<started> {
         return started_from(
             ctx.sys, graph::spawn(ctx.sys, ctx.db, ctx.events, ctx.peers.get<auth_actor>("auth"),
                                   ctx.peers.get<media_actor>("media"), ctx.cfg.graph));
       },
       .add_routes =
           [](context& ctx, const started& self, http::router& routes) {
             graph::add_routes(routes, ctx.sys, caf::actor_cast<graph_actor>(self.actor));
           }},
      {.name = "feed",
       .needs = {"media", "auth", "graph"},
       .wants = {},
       .connections = [](const configs& c) { return workers_plus_bus(c.feed.workers); },
       .migrate = [](store::database& db) { return feed::migrate(db); },
       .start = [](context& ctx) -> result<started> {
         auto timelines = feed::open_timelines(ctx.db, ctx.cfg.feed);
         if (!timelines) return timelines.error();
         return started_from(ctx.sys, feed::spawn(ctx.sys, ctx.db, ctx.events, *timelines,
                                                  {ctx.peers.get<media_actor>("media"),
                                                   ctx.peers.get<auth_actor>("auth"),
                                                   ctx.peers.get<graph_actor>("graph")},
                                                  ctx.cfg.feed));
       },
       .add_routes =
           [](context& ctx, const started& self, http::router& routes) {
             feed::add_routes(routes, ctx.sys, caf::actor_cast<feed_actor>(self.actor));
           }},
      {.name = "search",
       .needs = {"media", "auth", "graph"},
       .wants = {},
       .connections = [](const configs& c) { return workers_plus_bus(c.search.workers); },
       .migrate = [](store::database& db) { return search::migrate(db); },
       .start = [](context& ctx) -> result<started> {
         return started_from(ctx.sys, search::spawn(ctx.sys, ctx.db, ctx.events,
                                                    {ctx.peers.get<media_actor>("media"),
                                                     ctx.peers.get<auth_actor>("auth"),
                                                     ctx.peers.get<graph_actor>("graph")},
                                                    ctx.cfg.search));
       },
       .add_routes =
           [](context& ctx, const started& self, http::router& routes) {
             search::add_routes(routes, ctx.sys, caf::actor_cast<search_actor>(self.actor));
           },
       .commands = {{.name = "reindex",
                     .help = "reindex   rebuild the search index from the users and photos",
                     .declare = {},
                     .run = reindex}}},
  };
  return table;
}

void declare_link_options(options& opts) {
  std::set<std::string> linked;
  for (const auto& m : service_table()) {
    linked.insert(m.needs.begin(), m.needs.end());
    linked.insert(m.wants.begin(), m.wants.end());
  }
  for (const auto& m : service_table())
    if (linked.count(m.name))
      opts.add(m.name + "-actor", "",
               "where the " + m.name +
                   " service's actor port is, for the services that need it when this process "
                   "does not run it: host:port, host:port,host:port, or a DNS name whose records "
                   "are every replica (a Kubernetes headless Service); re-resolved every 5s");
}

std::vector<const module*> modules_of(const std::string& mode) {
  std::vector<const module*> out;
  for (const auto& m : service_table())
    if (mode == "all" || mode == m.name) out.push_back(&m);
  return out;
}

std::vector<const module*> start_order(std::vector<const module*> selected) {
  std::set<std::string> local, done;
  for (auto* m : selected) local.insert(m->name);
  std::vector<const module*> out;
  while (!selected.empty()) {
    auto ready = std::stable_partition(selected.begin(), selected.end(), [&](const module* m) {
      return std::all_of(m->needs.begin(), m->needs.end(),
                         [&](const auto& n) { return !local.count(n) || done.count(n); });
    });
    // A cycle among `needs` would leave rows whose handles are still empty: the table has none
    // (tests/unit/modules_test.cpp checks it), but never loop forever on one.
    if (ready == selected.begin()) ready = selected.end();
    for (auto it = selected.begin(); it != ready; ++it) {
      out.push_back(*it);
      done.insert((*it)->name);
    }
    selected.erase(selected.begin(), ready);
  }
  return out;
}

}  // namespace pixhive::app
