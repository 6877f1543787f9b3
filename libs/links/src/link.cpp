#include "pixhive/links/link.hpp"

#include <algorithm>
#include <map>
#include <mutex>
#include <random>
#include <thread>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <caf/all.hpp>
#include <caf/io/all.hpp>
#include <caf/openssl/all.hpp>

#include "pixhive/core/log.hpp"
#include "pixhive/metrics/metrics.hpp"

namespace pixhive::links {

/// Lets a resolve's result travel in a (local) message.
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, endpoint& x) {
  return f(caf::meta::type_name("pixhive_endpoint"), x.host, x.port);
}

class link_status {
 public:
  explicit link_status(link_state s) : state_(std::move(s)) {}
  link_state get() const {
    std::lock_guard<std::mutex> guard{mtx_};
    return state_;
  }
  template <class F>
  void update(F&& f) {
    std::lock_guard<std::mutex> guard{mtx_};
    f(state_);
  }

 private:
  mutable std::mutex mtx_;
  link_state state_;
};

namespace {

using tick_atom = caf::atom_constant<caf::atom("link_tick")>;
using resolved_atom = caf::atom_constant<caf::atom("link_res")>;
// Never sent: a response handler for it makes every reply reach the error handler (see
// dispatch()).
using no_reply_atom = caf::atom_constant<caf::atom("link_none")>;
using clock_type = std::chrono::steady_clock;
constexpr auto tick_every = std::chrono::milliseconds(200);

struct replica {
  endpoint at;
  caf::actor handle;
  int failures = 0;
  bool connecting = false;
  clock_type::time_point retry_at{};
  /// Requests sent to it and not answered yet.
  size_t outstanding = 0;
};

/// A request the proxy passed on and answers when its replica does.
struct in_flight {
  caf::message msg;
  caf::response_promise promise;
  bool may_retry = false;
  caf::actor_addr on;
};

/// The link's series, labelled with the service it reaches (`target`).
struct link_metrics {
  prometheus::Gauge* replicas = nullptr;
  prometheus::Gauge* connected = nullptr;
  prometheus::Gauge* in_flight = nullptr;
  prometheus::Counter* retries = nullptr;
  prometheus::Counter* unavailable = nullptr;

  static link_metrics of(const std::string& target) {
    auto& reg = metrics::registry();
    static auto& known = prometheus::BuildGauge()
                             .Name("pixhive_link_replicas")
                             .Help("Replicas of the linked service this process knows of")
                             .Register(reg);
    static auto& connected = prometheus::BuildGauge()
                                 .Name("pixhive_link_connected_replicas")
                                 .Help("Replicas of the linked service connected now (0: down)")
                                 .Register(reg);
    static auto& in_flight = prometheus::BuildGauge()
                                 .Name("pixhive_link_requests_in_flight")
                                 .Help("Requests sent to the linked service, not answered yet")
                                 .Register(reg);
    static auto& retries = prometheus::BuildCounter()
                               .Name("pixhive_link_retries_total")
                               .Help("Idempotent requests sent again to another replica")
                               .Register(reg);
    static auto& unavailable =
        prometheus::BuildCounter()
            .Name("pixhive_link_unavailable_total")
            .Help("Requests answered service_unavailable (no replica, or lost mid-request)")
            .Register(reg);
    std::map<std::string, std::string> l{{"target", target}};
    return {&known.Add(l), &connected.Add(l), &in_flight.Add(l), &retries.Add(l),
            &unavailable.Add(l)};
  }
};

struct proxy_state {
  link_metrics metrics;
  std::vector<replica> replicas;
  size_t next = 0;
  uint64_t last_request = 0;
  std::map<uint64_t, in_flight> requests;
  clock_type::time_point resolve_at{};
  bool resolving = false;
  std::mt19937 rng{std::random_device{}()};
  static inline const char* name = "pixhive_link";
};

using proxy_actor = caf::stateful_actor<proxy_state>;

std::string describe(const endpoint& e) {
  return e.host + ":" + std::to_string(e.port);
}

/// Every address a target names now: an IP stays itself, a DNS name gives all its records.
std::vector<endpoint> resolve(const std::vector<endpoint>& targets, std::string& error) {
  namespace net = boost::asio;
  std::vector<endpoint> out;
  net::io_context ioc;
  net::ip::tcp::resolver resolver{ioc};
  for (const auto& t : targets) {
    boost::system::error_code ec;
    auto found = resolver.resolve(t.host, std::to_string(t.port), ec);
    if (ec) {
      error = "cannot resolve " + t.host + ": " + ec.message();
      continue;
    }
    for (const auto& r : found) {
      endpoint e{r.endpoint().address().to_string(), t.port};
      if (std::find(out.begin(), out.end(), e) == out.end()) out.push_back(e);
    }
  }
  return out;
}

/// Backoff before the next connection attempt: 100 ms doubling to 5 s, jittered ±50 % so that
/// replicas that lost a neighbour together do not reconnect together.
clock_type::duration backoff(int failures, std::mt19937& rng) {
  auto base = std::min<int64_t>(5000, int64_t{100} << std::min(failures, 6));
  std::uniform_real_distribution<double> jitter{0.5, 1.5};
  return std::chrono::milliseconds(static_cast<int64_t>(static_cast<double>(base) * jitter(rng)));
}

void publish_state(proxy_actor* self, link_status& status) {
  size_t connected = 0;
  for (const auto& r : self->state.replicas) connected += r.handle ? 1 : 0;
  status.update([&](link_state& s) {
    s.known = self->state.replicas.size();
    s.connected = connected;
  });
  auto& m = self->state.metrics;
  m.replicas->Set(static_cast<double>(self->state.replicas.size()));
  m.connected->Set(static_cast<double>(connected));
}

void connect_due(proxy_actor* self, const link_config& cfg,
                 const std::shared_ptr<link_status>& status) {
  auto now = clock_type::now();
  for (auto& r : self->state.replicas) {
    if (r.handle || r.connecting || now < r.retry_at) continue;
    r.connecting = true;
    auto at = r.at;
    auto& sys = self->system();
    // Over TLS when this process has certificates (see --actor-tls-cert).
    auto connector = sys.has_openssl_manager() ? sys.openssl_manager().actor_handle()
                                               : sys.middleman().actor_handle();
    self->request(connector, cfg.connect_timeout, caf::connect_atom::value, at.host, at.port)
        .then(
            [=](const caf::node_id&, caf::strong_actor_ptr& ptr, const std::set<std::string>&) {
              for (auto& x : self->state.replicas) {
                if (!(x.at == at)) continue;
                x.connecting = false;
                if (!ptr) {
                  x.retry_at = clock_type::now() + backoff(++x.failures, self->state.rng);
                  continue;
                }
                x.handle = caf::actor_cast<caf::actor>(std::move(ptr));
                x.failures = 0;
                self->monitor(x.handle);
                log::info("link_connected", {{"link", cfg.name}, {"replica", describe(at)}});
              }
              publish_state(self, *status);
            },
            [=](caf::error& e) {
              auto why = describe(at) + ": " + self->system().render(e);
              for (auto& x : self->state.replicas)
                if (x.at == at) {
                  x.connecting = false;
                  x.retry_at = clock_type::now() + backoff(++x.failures, self->state.rng);
                  if (x.failures == 1)
                    log::warn("link_connect_failed", {{"link", cfg.name}, {"error", why}});
                }
              status->update([&](link_state& s) { s.last_error = why; });
              publish_state(self, *status);
            });
  }
}

/// Takes in what a resolve found.
void refresh(proxy_actor* self, const std::vector<endpoint>& found, const std::string& error,
             const std::shared_ptr<link_status>& status) {
  if (!error.empty()) status->update([&](link_state& s) { s.last_error = error; });
  auto& replicas = self->state.replicas;
  // A name that stops resolving keeps its last replicas: DNS hiccups must not drop live links.
  if (!found.empty())
    std::erase_if(replicas, [&](const replica& r) {
      return std::find(found.begin(), found.end(), r.at) == found.end();
    });
  for (auto& e : found)
    if (std::none_of(replicas.begin(), replicas.end(), [&](auto& r) { return r.at == e; }))
      replicas.push_back(replica{e});
  publish_state(self, *status);
}

caf::error unavailable(const link_config& cfg, const std::string& why) {
  return make_error(errc::unavailable, "service_unavailable",
                    "the " + cfg.name + " service is unavailable: " + why);
}

void dispatch(proxy_actor* self, const link_config& cfg, uint64_t id, const caf::actor_addr& avoid);

/// The end of request `id` on the replica at `from`: an answer, a failure, or nothing more to
/// wait for (the replica went down).
void finish(proxy_actor* self, const link_config& cfg, uint64_t id, const caf::actor_addr& from,
            caf::error& e) {
  auto& st = self->state;
  auto it = st.requests.find(id);
  // Already answered or moved to another replica: a late word from this one changes nothing.
  if (it == st.requests.end() || it->second.on != from) return;
  for (auto& r : st.replicas)
    if (r.handle && r.handle.address() == from && r.outstanding > 0) --r.outstanding;
  auto& req = it->second;
  if (e == caf::sec::unexpected_response) {
    // The replica's answer, whatever its type (see dispatch()).
    req.promise.deliver(e.context());
  } else if (e.category() == caf::atom("system") && req.may_retry) {
    // Transport trouble (a timeout, a lost node), not the service's own error: once more,
    // elsewhere.
    req.may_retry = false;
    st.metrics.retries->Increment();
    dispatch(self, cfg, id, from);
    return;
  } else {
    req.promise.deliver(e);
  }
  st.requests.erase(it);
  st.metrics.in_flight->Set(static_cast<double>(st.requests.size()));
}

/// Sends request `id` to the live replica with the fewest outstanding requests, not `avoid`
/// unless it is the only one; answers 503 at once when none is live.
void dispatch(proxy_actor* self, const link_config& cfg, uint64_t id,
              const caf::actor_addr& avoid) {
  auto& st = self->state;
  auto it = st.requests.find(id);
  if (it == st.requests.end()) return;
  replica* best = nullptr;
  size_t n = st.replicas.size(), chosen = 0;
  for (int pass = 0; pass < 2 && !best; ++pass)
    for (size_t i = 0; i < n; ++i) {
      auto& r = st.replicas[(st.next + i) % n];
      if (!r.handle || (pass == 0 && avoid && r.handle.address() == avoid)) continue;
      if (!best || r.outstanding < best->outstanding) {
        best = &r;
        chosen = (st.next + i) % n;
      }
    }
  if (!best) {
    it->second.promise.deliver(unavailable(cfg, "no replica is reachable"));
    st.metrics.unavailable->Increment();
    st.requests.erase(it);
    st.metrics.in_flight->Set(static_cast<double>(st.requests.size()));
    return;
  }
  st.next = (chosen + 1) % n;
  ++best->outstanding;
  auto from = best->handle.address();
  it->second.on = from;
  // CAF matches replies against typed handlers; the proxy passes on every type, so its only
  // handler is one no reply matches, and CAF hands each reply to the error handler as
  // `unexpected_response` with the reply as the error's context.
  self->request(best->handle, cfg.request_timeout, it->second.msg)
      .then([](no_reply_atom) {}, [=](caf::error& e) { finish(self, cfg, id, from, e); });
}

caf::behavior proxy(proxy_actor* self, link_config cfg, std::vector<endpoint> targets,
                    std::shared_ptr<link_status> status) {
  self->state.metrics = link_metrics::of(cfg.name);
  self->set_down_handler([=](caf::down_msg& dm) {
    for (auto& r : self->state.replicas)
      if (r.handle && r.handle.address() == dm.source) {
        r.handle = nullptr;
        r.outstanding = 0;
        r.retry_at = clock_type::now() + backoff(++r.failures, self->state.rng);
        auto why = describe(r.at) + " went down";
        log::warn("link_replica_down", {{"link", cfg.name}, {"replica", describe(r.at)}});
        status->update([&](link_state& s) { s.last_error = why; });
      }
    // What that replica had not answered will not be answered: retried elsewhere when that is
    // safe, refused now otherwise.
    std::vector<uint64_t> lost;
    for (auto& [id, req] : self->state.requests)
      if (req.on == dm.source) lost.push_back(id);
    for (auto id : lost) {
      auto& req = self->state.requests[id];
      if (req.may_retry) {
        req.may_retry = false;
        self->state.metrics.retries->Increment();
        dispatch(self, cfg, id, dm.source);
      } else {
        req.promise.deliver(unavailable(cfg, "its replica went down while answering"));
        self->state.metrics.unavailable->Increment();
        self->state.requests.erase(id);
      }
    }
    publish_state(self, *status);
  });
  // Every other message is a request for the dependency.
  self->set_default_handler(
      [=](caf::scheduled_actor*, caf::message_view& x) -> caf::result<caf::message> {
        auto& st = self->state;
        auto id = ++st.last_request;
        in_flight req;
        req.msg = x.move_content_to_message();
        req.may_retry = cfg.idempotent && cfg.idempotent(req.msg);
        req.promise = self->make_response_promise();
        auto promise = req.promise;
        st.requests.emplace(id, std::move(req));
        st.metrics.in_flight->Set(static_cast<double>(st.requests.size()));
        dispatch(self, cfg, id, {});
        return promise;
      });
  self->send(self, tick_atom::value);
  return {
      [=](tick_atom) {
        auto now = clock_type::now();
        if (now >= self->state.resolve_at && !self->state.resolving) {
          // Resolving a DNS name blocks: on a thread of its own, never on the scheduler's.
          self->state.resolving = true;
          self->state.resolve_at = now + cfg.resolve_every;
          std::thread([me = caf::actor_cast<caf::actor>(self), targets] {
            std::string error;
            auto found = resolve(targets, error);
            caf::anon_send(me, resolved_atom::value, std::move(found), std::move(error));
          }).detach();
        }
        connect_due(self, cfg, status);
        self->delayed_send(self, tick_every, tick_atom::value);
      },
      [=](resolved_atom, std::vector<endpoint>& found, std::string& error) {
        self->state.resolving = false;
        refresh(self, found, error, status);
        connect_due(self, cfg, status);
      },
  };
}

}  // namespace

nlohmann::json link_state::to_json() const {
  return {{"name", name},      {"ready", ready()},       {"required", required},
          {"replicas", known}, {"connected", connected}, {"last_error", last_error}};
}

result<std::vector<endpoint>> parse_targets(const std::string& text, const std::string& option) {
  std::vector<endpoint> out;
  auto bad = [&] {
    return make_error(errc::invalid_argument, "bad_config",
                      "option --" + option +
                          " must be host:port or host:port,host:port (a DNS name gives every "
                          "replica it resolves to)");
  };
  size_t pos = 0;
  while (pos <= text.size()) {
    auto comma = text.find(',', pos);
    if (comma == std::string::npos) comma = text.size();
    auto item = text.substr(pos, comma - pos);
    pos = comma + 1;
    if (item.empty()) continue;
    auto colon = item.rfind(':');
    if (colon == std::string::npos || colon == 0 || colon + 1 == item.size()) return bad();
    auto host = item.substr(0, colon);
    if (host.size() > 2 && host.front() == '[' && host.back() == ']')
      host = host.substr(1, host.size() - 2);
    int port = 0;
    for (char c : item.substr(colon + 1)) {
      if (c < '0' || c > '9') return bad();
      port = port * 10 + (c - '0');
      if (port > 65535) return bad();
    }
    if (port == 0) return bad();
    out.push_back({host, static_cast<uint16_t>(port)});
  }
  if (out.empty()) return bad();
  return out;
}

std::shared_ptr<link> link::local(std::string name, caf::actor handle) {
  link_state s;
  s.name = std::move(name);
  s.known = s.connected = 1;
  return std::shared_ptr<link>(
      new link(std::move(handle), std::make_shared<link_status>(std::move(s))));
}

result<std::shared_ptr<link>> link::remote(caf::actor_system& sys, link_config cfg) {
  auto targets = parse_targets(cfg.targets, cfg.option);
  if (!targets) return targets.error();
  link_state s;
  s.name = cfg.name;
  s.required = cfg.required;
  s.last_error = "not connected yet";
  auto status = std::make_shared<link_status>(std::move(s));
  auto handle = sys.spawn(proxy, std::move(cfg), std::move(*targets), status);
  return std::shared_ptr<link>(new link(caf::actor_cast<caf::actor>(handle), status));
}

link_state link::state() const {
  return status_->get();
}

nlohmann::json links_json(const std::vector<std::shared_ptr<link>>& links, bool& ready) {
  auto out = nlohmann::json::array();
  ready = true;
  for (const auto& l : links) {
    auto s = l->state();
    ready = ready && s.ready();
    out.push_back(s.to_json());
  }
  return out;
}

}  // namespace pixhive::links
