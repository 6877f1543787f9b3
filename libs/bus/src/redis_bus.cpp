#include "pixhive/bus/redis_bus.hpp"

#include <atomic>
#include <condition_variable>
#include <cstdarg>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <thread>
#include <vector>

#include <hiredis/hiredis.h>
#include <sys/socket.h>

#include "listeners.hpp"
#include "pixhive/bus/redis_handles.hpp"
#include "pixhive/core/ids.hpp"
#include "pixhive/core/log.hpp"
#include "pixhive/metrics/metrics.hpp"

namespace pixhive::bus {

namespace {

prometheus::Family<prometheus::Histogram>& command_seconds() {
  static auto& f = prometheus::BuildHistogram()
                       .Name("pixhive_redis_command_seconds")
                       .Help("Round trip of one Redis command (blocking reads excepted)")
                       .Register(metrics::registry());
  return f;
}

/// Events `group` gave up on. Made when the group subscribes, so the series reads 0 rather
/// than missing until the first dead letter (an alert's increase() needs the 0).
prometheus::Counter& dead_letters(const std::string& group) {
  static auto& f = prometheus::BuildCounter()
                       .Name("pixhive_bus_dead_letters_total")
                       .Help(
                           "Events a consumer group gave up on after max_attempts, copied to "
                           "the dead-letter stream")
                       .Register(metrics::registry());
  return f.Add({{"group", group}});
}

/// redisCommand, its round trip recorded under `name`. Blocking XREADGROUPs stay untimed: their
/// time is the wait for events, not Redis's latency.
redisReply* timed(const char* name, redisContext* c, const char* format, ...) {
  thread_local std::map<const char*, prometheus::Histogram*> by_name;
  auto& h = by_name[name];
  if (!h) h = &command_seconds().Add({{"command", name}}, metrics::latency_buckets());
  auto start = std::chrono::steady_clock::now();
  va_list ap;
  va_start(ap, format);
  auto* r = static_cast<redisReply*>(redisvCommand(c, format, ap));
  va_end(ap);
  h->Observe(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  return r;
}

result<context_ptr> connect(const redis_bus_config& cfg) {
  timeval timeout{5, 0};
  auto c = connect_redis(cfg.address, timeout);
  if (!c) return make_error(errc::unavailable, "bus_unavailable", to_problem(c.error()).message);
  // Reads block up to cfg.block inside Redis; the socket timeout must be longer.
  timeval rw{static_cast<time_t>(cfg.block.count() / 1000 + 5), 0};
  redisSetTimeout(c->get(), rw);
  return c;
}

caf::error redis_error(redisContext* c, redisReply* r) {
  std::string why =
      r && r->type == REDIS_REPLY_ERROR ? std::string(r->str, r->len) : std::string(c->errstr);
  return make_error(errc::unavailable, "bus_error", "Redis: " + why);
}

std::string str(const redisReply* r) {
  return r && (r->type == REDIS_REPLY_STRING || r->type == REDIS_REPLY_STATUS)
             ? std::string(r->str, r->len)
             : std::string();
}

/// One stream entry [id, [field, value, …]] as an event.
event to_event(const redisReply* entry, std::string& id) {
  event e;
  id = str(entry->element[0]);
  auto* fields = entry->element[1];
  for (size_t i = 0; fields && i + 1 < fields->elements; i += 2) {
    auto k = str(fields->element[i]);
    auto v = str(fields->element[i + 1]);
    if (k == "type")
      e.type = v;
    else if (k == "payload")
      e.payload = v;
    else if (k == "id")
      e.id = std::stoll(v);
    else if (k == "published_at")
      e.published_at = std::stoll(v);
  }
  return e;
}

const std::string broadcast_prefix = "pixhive:broadcast:";

class redis_bus final : public event_bus {
 public:
  redis_bus(redis_bus_config cfg, context_ptr publisher)
      : cfg_(std::move(cfg)), publisher_(std::move(publisher)) {
    threads_.emplace_back([this] { relay_broadcasts(); });
    threads_.emplace_back([this] { watch_groups(); });
  }
  ~redis_bus() override { stop(); }

  int max_attempts() const override { return cfg_.max_attempts; }
  bool durable() const override { return true; }

  void broadcast(const std::string& topic, const std::string& message) override {
    auto channel = broadcast_prefix + topic;
    std::lock_guard<std::mutex> guard{publish_mtx_};
    reply_ptr r{timed("PUBLISH", publisher_.get(), "PUBLISH %b %b", channel.data(), channel.size(),
                      message.data(), message.size())};
    if (!r) {
      log::warn("broadcast_failed", {{"topic", topic}, {"error", publisher_->errstr}});
      if (auto fresh = connect(cfg_)) publisher_ = std::move(*fresh);
    }
  }

  std::shared_ptr<void> listen(const std::string& topic,
                               std::function<void(const std::string&)> fn) override {
    return listeners_->add(topic, std::move(fn));
  }

  using event_bus::publish;
  result<void> publish(const std::string& type, std::string payload, int64_t event_id) override {
    auto id = std::to_string(event_id);
    auto at = std::to_string(unix_now());
    std::lock_guard<std::mutex> guard{publish_mtx_};
    reply_ptr r{timed("XADD", publisher_.get(),
                      "XADD %s MAXLEN ~ 1000000 * type %b payload %b id %s "
                      "published_at %s",
                      cfg_.stream.c_str(), type.data(), type.size(), payload.data(), payload.size(),
                      id.c_str(), at.c_str())};
    if (!r || r->type == REDIS_REPLY_ERROR) {
      auto err = redis_error(publisher_.get(), r.get());
      // A broken connection is replaced, so the next publish can succeed.
      if (!r)
        if (auto fresh = connect(cfg_)) publisher_ = std::move(*fresh);
      return err;
    }
    return caf::unit;
  }

  void subscribe(const std::string& group, std::vector<std::string> types, handler fn,
                 int concurrency) override {
    auto wanted = std::set<std::string>(types.begin(), types.end());
    dead_letters(group);
    auto shared_fn = std::make_shared<handler>(std::move(fn));
    for (int i = 0; i < std::max(1, concurrency); ++i) {
      // Each thread is its own consumer in the group, so Redis spreads events across them.
      auto consumer = concurrency > 1 ? cfg_.consumer + "-" + std::to_string(i) : cfg_.consumer;
      // A pool takes one event at a time, so an idle thread never waits behind a busy one's batch.
      int batch = concurrency > 1 ? 1 : 16;
      threads_.emplace_back([this, group, wanted, shared_fn, consumer, batch] {
        consume(group, wanted, *shared_fn, consumer, batch);
      });
    }
  }

  void stop() override {
    if (stopping_.exchange(true)) return;
    {
      std::lock_guard<std::mutex> guard{stop_mtx_};
      stop_cv_.notify_all();
    }
    {
      // Wakes the broadcast relay out of its blocking read, whatever state Redis is in (a
      // message would need a working connection: after a Redis restart there may be none).
      std::lock_guard<std::mutex> guard{relay_fd_mtx_};
      if (relay_fd_ >= 0) ::shutdown(relay_fd_, SHUT_RDWR);
    }
    for (auto& t : threads_)
      if (t.joinable()) t.join();
  }

 private:
  /// Exports, every group_poll, each consumer group's lag (entries not yet delivered to it) and
  /// pending count: every process on the bus exports every group, so the lag of a group whose
  /// consumers are all stopped stays visible (an HPA or KEDA scales on it; an alert fires).
  void watch_groups() {
    static auto& lag = prometheus::BuildGauge()
                           .Name("pixhive_bus_consumer_lag")
                           .Help("Events in the stream not yet delivered to the consumer group")
                           .Register(metrics::registry());
    static auto& pending = prometheus::BuildGauge()
                               .Name("pixhive_bus_consumer_pending")
                               .Help("Events delivered to the consumer group, not yet acknowledged")
                               .Register(metrics::registry());
    context_ptr c;
    std::unique_lock<std::mutex> lock{stop_mtx_};
    while (!stopping_) {
      lock.unlock();
      if (!c)
        if (auto fresh = connect(cfg_)) c = std::move(*fresh);
      if (c) {
        reply_ptr r{timed("XINFO", c.get(), "XINFO GROUPS %s", cfg_.stream.c_str())};
        if (!r) c.reset();
        for (size_t i = 0; r && r->type == REDIS_REPLY_ARRAY && i < r->elements; ++i) {
          auto* g = r->element[i];
          std::string name;
          std::optional<double> lag_value, pending_value;
          for (size_t k = 0; g->type == REDIS_REPLY_ARRAY && k + 1 < g->elements; k += 2) {
            auto key = str(g->element[k]);
            auto* v = g->element[k + 1];
            if (key == "name") name = str(v);
            if (key == "pending" && v->type == REDIS_REPLY_INTEGER)
              pending_value = static_cast<double>(v->integer);
            // Redis reports no lag when it cannot tell (entries deleted mid-stream): leave
            // the last value rather than report 0.
            if (key == "lag" && v->type == REDIS_REPLY_INTEGER)
              lag_value = static_cast<double>(v->integer);
          }
          if (name.empty()) continue;
          std::map<std::string, std::string> labels{{"stream", cfg_.stream}, {"group", name}};
          if (lag_value) lag.Add(labels).Set(*lag_value);
          if (pending_value) pending.Add(labels).Set(*pending_value);
        }
      }
      lock.lock();
      stop_cv_.wait_for(lock, group_poll, [&] { return stopping_.load(); });
    }
  }

  /// Relays Redis pub/sub broadcasts to this process's listeners until stop().
  void relay_broadcasts() {
    while (!stopping_) {
      auto c = connect(cfg_);
      if (!c) {
        std::this_thread::sleep_for(cfg_.block);
        continue;
      }
      auto pattern = broadcast_prefix + "*";
      reply_ptr sub{
          static_cast<redisReply*>(redisCommand(c->get(), "PSUBSCRIBE %s", pattern.c_str()))};
      if (!sub) continue;
      // Blocks until a message comes; stop() shuts the socket down to end the wait. Handed to
      // stop() only once subscribed, so no command is ever written to a socket it shut down.
      redisSetTimeout(c->get(), timeval{0, 0});
      {
        std::lock_guard<std::mutex> guard{relay_fd_mtx_};
        if (stopping_) break;
        relay_fd_ = (*c)->fd;
      }
      // Forgotten before the connection closes, so stop() never touches a reused descriptor.
      struct forget_fd {
        redis_bus* bus;
        ~forget_fd() {
          std::lock_guard<std::mutex> guard{bus->relay_fd_mtx_};
          bus->relay_fd_ = -1;
        }
      } forget{this};
      while (!stopping_) {
        redisReply* raw = nullptr;
        if (redisGetReply(c->get(), reinterpret_cast<void**>(&raw)) != REDIS_OK) break;
        reply_ptr msg{raw};
        // pmessage: [kind, pattern, channel, payload]
        if (msg->type != REDIS_REPLY_ARRAY || msg->elements != 4) continue;
        auto channel = str(msg->element[2]);
        listeners_->dispatch(channel.substr(broadcast_prefix.size()), str(msg->element[3]));
      }
    }
  }

  void consume(const std::string& group, const std::set<std::string>& wanted, const handler& fn,
               const std::string& consumer, int batch) {
    context_ptr c;
    std::string cursor = "0-0";
    // Where this consumer's re-read of its own pending events stands ("" once done).
    std::string own_pending;
    while (!stopping_) {
      if (!c) {
        auto fresh = connect(cfg_);
        if (!fresh) {
          log::error("bus_connect_failed",
                     {{"group", group}, {"error", to_problem(fresh.error()).message}});
          std::this_thread::sleep_for(cfg_.block);
          continue;
        }
        c = std::move(*fresh);
        own_pending = "0-0";
        // Starting at 0 means a group created after events were published still sees them.
        reply_ptr r{timed("XGROUP", c.get(), "XGROUP CREATE %s %s 0 MKSTREAM", cfg_.stream.c_str(),
                          group.c_str())};
        if (!r) {
          c.reset();
          continue;
        }
      }
      if (retry_at_ && std::chrono::steady_clock::now() >= *retry_at_) {
        retry_at_.reset();
        own_pending = "0-0";
      }
      if (!own_pending.empty() &&
          !handle_own_pending(c.get(), group, wanted, fn, consumer, batch, own_pending)) {
        log::warn("bus_connection_lost", {{"group", group}, {"error", c->errstr}});
        c.reset();
        continue;
      }
      if (!claim_and_handle(c.get(), group, wanted, fn, consumer, batch, cursor) ||
          !read_and_handle(c.get(), group, wanted, fn, consumer, batch)) {
        log::warn("bus_connection_lost", {{"group", group}, {"error", c->errstr}});
        c.reset();
      }
    }
  }

  /// After a (re)connect, handles again the events this consumer was given but never
  /// acknowledged (an XACK lost with the connection, or a crash of a replica with a stable name):
  /// at once, rather than after claim_after. `after` walks its pending list and becomes empty
  /// once the list is done. False when Redis is gone.
  bool handle_own_pending(redisContext* c, const std::string& group,
                          const std::set<std::string>& wanted, const handler& fn,
                          const std::string& consumer, int batch, std::string& after) {
    reply_ptr r{timed("XREADGROUP", c, "XREADGROUP GROUP %s %s COUNT %d STREAMS %s %s",
                      group.c_str(), consumer.c_str(), batch, cfg_.stream.c_str(), after.c_str())};
    if (!r) return false;
    if (r->type != REDIS_REPLY_ARRAY || r->elements == 0 || r->element[0]->elements < 2 ||
        r->element[0]->element[1]->elements == 0) {
      after.clear();
      return true;
    }
    auto* entries = r->element[0]->element[1];
    for (size_t i = 0; i < entries->elements; ++i) {
      auto* entry = entries->element[i];
      after = str(entry->element[0]);
      if (entry->elements < 2 || entry->element[1]->type != REDIS_REPLY_ARRAY) {
        // Trimmed from the stream while pending: nothing left to handle.
        reply_ptr ack{
            timed("XACK", c, "XACK %s %s %s", cfg_.stream.c_str(), group.c_str(), after.c_str())};
        if (!ack) return false;
        continue;
      }
      if (!handle_again(c, group, wanted, fn, entry)) return false;
    }
    return true;
  }

  /// Handles an entry delivered before; its attempt number is Redis's delivery count.
  bool handle_again(redisContext* c, const std::string& group, const std::set<std::string>& wanted,
                    const handler& fn, const redisReply* entry) {
    std::string id;
    auto e = to_event(entry, id);
    e.attempt = delivery_count(c, group, id);
    return handle(c, group, wanted, fn, id, e);
  }

  /// Takes over events another consumer (or this one) left unacknowledged for too long.
  /// `cursor` walks the pending list across calls: XAUTOCLAIM scans a bounded number of entries
  /// per call, and restarting at 0-0 each time would never reach idle entries behind busy ones.
  bool claim_and_handle(redisContext* c, const std::string& group,
                        const std::set<std::string>& wanted, const handler& fn,
                        const std::string& consumer, int batch, std::string& cursor) {
    reply_ptr r{timed("XAUTOCLAIM", c, "XAUTOCLAIM %s %s %s %lld %s COUNT %d", cfg_.stream.c_str(),
                      group.c_str(), consumer.c_str(),
                      static_cast<long long>(cfg_.claim_after.count()), cursor.c_str(), batch)};
    if (!r) return false;
    if (r->type != REDIS_REPLY_ARRAY || r->elements < 2) return true;
    cursor = str(r->element[0]);
    if (cursor.empty()) cursor = "0-0";
    auto* entries = r->element[1];
    for (size_t i = 0; i < entries->elements; ++i) {
      auto* entry = entries->element[i];
      if (entry->type != REDIS_REPLY_ARRAY || entry->elements < 2 ||
          entry->element[1]->type != REDIS_REPLY_ARRAY)
        continue;
      if (!handle_again(c, group, wanted, fn, entry)) return false;
    }
    return true;
  }

  bool read_and_handle(redisContext* c, const std::string& group,
                       const std::set<std::string>& wanted, const handler& fn,
                       const std::string& consumer, int batch) {
    reply_ptr r{static_cast<redisReply*>(redisCommand(
        c, "XREADGROUP GROUP %s %s COUNT %d BLOCK %lld STREAMS %s >", group.c_str(),
        consumer.c_str(), batch, static_cast<long long>(cfg_.block.count()), cfg_.stream.c_str()))};
    if (!r) return false;
    if (r->type != REDIS_REPLY_ARRAY) return true;  // nil: nothing new within the block time
    for (size_t s = 0; s < r->elements; ++s) {
      auto* entries = r->element[s]->element[1];
      for (size_t i = 0; i < entries->elements; ++i) {
        std::string id;
        auto e = to_event(entries->element[i], id);
        e.attempt = 1;
        if (!handle(c, group, wanted, fn, id, e)) return false;
      }
    }
    return true;
  }

  int delivery_count(redisContext* c, const std::string& group, const std::string& id) {
    reply_ptr r{timed("XPENDING", c, "XPENDING %s %s %s %s 1", cfg_.stream.c_str(), group.c_str(),
                      id.c_str(), id.c_str())};
    if (!r || r->type != REDIS_REPLY_ARRAY || r->elements == 0) return 1;
    auto* item = r->element[0];
    if (item->type != REDIS_REPLY_ARRAY || item->elements < 4) return 1;
    return static_cast<int>(item->element[3]->integer);
  }

  /// Runs the handler; acknowledges on success, leaves the event pending on failure (it comes
  /// back through XAUTOCLAIM), dead-letters it after max_attempts. False when Redis is gone.
  bool handle(redisContext* c, const std::string& group, const std::set<std::string>& wanted,
              const handler& fn, const std::string& id, const event& e) {
    if (wanted.count(e.type)) {
      auto r = fn(e);
      if (!r) {
        if (e.attempt < cfg_.max_attempts) {
          // Left pending; this consumer takes it up again shortly (see consume()).
          if (!retry_at_) retry_at_ = std::chrono::steady_clock::now() + retry_after;
          return true;
        }
        dead_letters(group).Increment();
        log::error("event_dead_lettered", {{"group", group},
                                           {"type", e.type},
                                           {"event_id", e.id},
                                           {"attempts", e.attempt},
                                           {"error", to_problem(r.error()).message}});
        reply_ptr d{timed("XADD", c, "XADD %s * group %s type %b payload %b stream_id %s",
                          cfg_.dead_letter_stream.c_str(), group.c_str(), e.type.data(),
                          e.type.size(), e.payload.data(), e.payload.size(), id.c_str())};
        if (!d) return false;
      }
    }
    reply_ptr ack{
        timed("XACK", c, "XACK %s %s %s", cfg_.stream.c_str(), group.c_str(), id.c_str())};
    return ack != nullptr;
  }

  /// Delay before a consumer handles its failed events again; past max_attempts they are
  /// dead-lettered. Another consumer takes them over only after claim_after (this one died).
  static constexpr std::chrono::seconds retry_after{1};
  /// How often consumer-group lag is read (Prometheus scrapes every 15-30 s).
  static constexpr std::chrono::seconds group_poll{5};
  /// When the consumer of this thread retries its failed events (none pending: empty).
  static thread_local std::optional<std::chrono::steady_clock::time_point> retry_at_;

  redis_bus_config cfg_;
  std::mutex publish_mtx_;
  context_ptr publisher_;
  std::vector<std::thread> threads_;
  std::atomic<bool> stopping_{false};
  std::mutex stop_mtx_;
  std::condition_variable stop_cv_;
  std::mutex relay_fd_mtx_;
  /// The broadcast relay's socket while it waits for messages (-1 otherwise).
  int relay_fd_ = -1;
  std::shared_ptr<listeners> listeners_ = std::make_shared<listeners>();
};

thread_local std::optional<std::chrono::steady_clock::time_point> redis_bus::retry_at_;

}  // namespace

result<std::unique_ptr<event_bus>> make_redis_bus(redis_bus_config cfg) {
  auto c = connect(cfg);
  if (!c) return c.error();
  reply_ptr pong{static_cast<redisReply*>(redisCommand(c->get(), "PING"))};
  if (!pong || pong->type == REDIS_REPLY_ERROR) return redis_error(c->get(), pong.get());
  return std::unique_ptr<event_bus>{new redis_bus(std::move(cfg), std::move(*c))};
}

}  // namespace pixhive::bus
