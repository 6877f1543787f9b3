#include "modules.hpp"

#include <algorithm>
#include <set>

#include <caf/all.hpp>
#include <caf/io/all.hpp>
#include <caf/openssl/all.hpp>

#include "pixhive/core/ask.hpp"

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
  static const std::vector<module> table{
      {"auth",
       {},
       {"graph", "media"},
       [](const configs& c) { return workers_plus_bus(c.auth.workers); },
       [](store::database& db) { return auth::migrate(db); },
       [](context& ctx) -> result<started> {
         ctx.peers.auth = auth::spawn(ctx.sys, ctx.db, ctx.events, ctx.cfg.auth);
         return started_from(ctx.sys, ctx.peers.auth);
       },
       [](context& ctx, const started&, http::router& routes) {
         auth::add_routes(routes, ctx.sys, ctx.peers.auth, {ctx.peers.graph, ctx.peers.media},
                          ctx.cfg.auth.refresh_ttl);
       }},
      {"media",
       {},
       {"graph"},
       [](const configs& c) { return workers_plus_bus(c.media.workers); },
       [](store::database& db) { return media::migrate(db); },
       [](context& ctx) -> result<started> {
         auto blobs = ctx.blobs();
         if (!blobs) return blobs.error();
         ctx.peers.media = media::spawn(ctx.sys, ctx.db, *blobs, ctx.events, ctx.cfg.media);
         return started_from(ctx.sys, ctx.peers.media);
       },
       [](context& ctx, const started&, http::router& routes) {
         media::add_routes(routes, ctx.sys, ctx.peers.media, ctx.cfg.media, ctx.peers.graph);
       }},
      {"processing",
       {"media"},
       {},
       [](const configs& c) { return workers_plus_bus(c.processing.workers); },
       [](store::database& db) { return processing::migrate(db); },
       [](context& ctx) -> result<started> {
         auto blobs = ctx.blobs();
         if (!blobs) return blobs.error();
         auto p = processing::spawn(ctx.sys, ctx.db, *blobs, ctx.events, ctx.peers.media,
                                    ctx.cfg.processing);
         return started_from(ctx.sys, p);
       },
       [](context& ctx, const started& self, http::router& routes) {
         processing::add_routes(routes, ctx.sys,
                                caf::actor_cast<contracts::processing_actor>(self.actor),
                                ctx.events, ctx.cfg.processing);
       }},
      {"graph",
       {"auth", "media"},
       {},
       [](const configs& c) { return workers_plus_bus(c.graph.workers); },
       [](store::database& db) { return graph::migrate(db); },
       [](context& ctx) -> result<started> {
         ctx.peers.graph = graph::spawn(ctx.sys, ctx.db, ctx.events, ctx.peers.auth,
                                        ctx.peers.media, ctx.cfg.graph);
         return started_from(ctx.sys, ctx.peers.graph);
       },
       [](context& ctx, const started&, http::router& routes) {
         graph::add_routes(routes, ctx.sys, ctx.peers.graph);
       }},
      {"feed",
       {"media", "auth", "graph"},
       {},
       [](const configs& c) { return workers_plus_bus(c.feed.workers); },
       [](store::database& db) { return feed::migrate(db); },
       [](context& ctx) -> result<started> {
         auto timelines = feed::open_timelines(ctx.db, ctx.cfg.feed);
         if (!timelines) return timelines.error();
         auto f = feed::spawn(ctx.sys, ctx.db, ctx.events, *timelines,
                              {ctx.peers.media, ctx.peers.auth, ctx.peers.graph}, ctx.cfg.feed);
         return started_from(ctx.sys, f);
       },
       [](context& ctx, const started& self, http::router& routes) {
         feed::add_routes(routes, ctx.sys, caf::actor_cast<contracts::feed_actor>(self.actor));
       }},
      {"search",
       {"media", "auth", "graph"},
       {},
       [](const configs& c) { return workers_plus_bus(c.search.workers); },
       [](store::database& db) { return search::migrate(db); },
       [](context& ctx) -> result<started> {
         auto s = search::spawn(ctx.sys, ctx.db, ctx.events,
                                {ctx.peers.media, ctx.peers.auth, ctx.peers.graph}, ctx.cfg.search);
         return started_from(ctx.sys, s);
       },
       [](context& ctx, const started& self, http::router& routes) {
         search::add_routes(routes, ctx.sys, caf::actor_cast<contracts::search_actor>(self.actor));
       }},
  };
  return table;
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
