#include <algorithm>
#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "listeners.hpp"
#include "pixhive/bus/bus.hpp"
#include "pixhive/core/ids.hpp"
#include "pixhive/core/log.hpp"

namespace pixhive::bus {

namespace {

class in_process_bus final : public event_bus {
 public:
  explicit in_process_bus(int max_attempts) : max_attempts_(max_attempts) {}
  ~in_process_bus() override { stop(); }

  using event_bus::publish;
  result<void> publish(const std::string& type, std::string payload, int64_t id) override {
    event e{id, type, std::move(payload), unix_now(), 1};
    std::lock_guard<std::mutex> guard{mtx_};
    if (stopping_) return make_error(errc::unavailable, "bus_stopped", "the event bus is stopping");
    for (auto& [name, g] : groups_)
      if (g->types.count(type)) g->queue.push_back(e);
    history_.push_back(std::move(e));
    if (history_.size() > history_limit) history_.pop_front();
    cv_.notify_all();
    return caf::unit;
  }

  void subscribe(const std::string& group, std::vector<std::string> types, handler fn,
                 int concurrency) override {
    std::lock_guard<std::mutex> guard{mtx_};
    auto g = std::make_unique<consumer>();
    g->types.insert(types.begin(), types.end());
    // Like a Redis consumer group created at 0: a group that subscribes late (services start one
    // after another) still gets what was published before.
    for (const auto& e : history_)
      if (g->types.count(e.type)) g->queue.push_back(e);
    g->fn = std::move(fn);
    auto* raw = g.get();
    groups_[group] = std::move(g);
    for (int i = 0; i < std::max(1, concurrency); ++i)
      raw->threads.emplace_back([this, raw, group] { deliver(group, *raw); });
  }

  int max_attempts() const override { return max_attempts_; }
  bool durable() const override { return false; }

  void broadcast(const std::string& topic, const std::string& message) override {
    listeners_->dispatch(topic, message);
  }

  std::shared_ptr<void> listen(const std::string& topic,
                               std::function<void(const std::string&)> fn) override {
    return listeners_->add(topic, std::move(fn));
  }

  void stop() override {
    {
      std::lock_guard<std::mutex> guard{mtx_};
      if (stopping_) return;
      stopping_ = true;
      cv_.notify_all();
    }
    for (auto& [name, g] : groups_)
      for (auto& t : g->threads)
        if (t.joinable()) t.join();
    // Handlers often own their service, which owns this bus: dropping them breaks the cycle.
    std::lock_guard<std::mutex> guard{mtx_};
    groups_.clear();
  }

 private:
  struct consumer {
    std::set<std::string> types;
    handler fn;
    std::deque<event> queue;
    std::vector<std::thread> threads;
  };

  void deliver(const std::string& group, consumer& c) {
    for (;;) {
      event e;
      {
        std::unique_lock<std::mutex> lock{mtx_};
        cv_.wait(lock, [&] { return stopping_ || !c.queue.empty(); });
        if (c.queue.empty()) return;  // stopping, and everything was delivered
        e = std::move(c.queue.front());
        c.queue.pop_front();
      }
      auto r = c.fn(e);
      if (r) continue;
      if (e.attempt >= max_attempts_) {
        log::error("event_dead_lettered", {{"group", group},
                                           {"type", e.type},
                                           {"event_id", e.id},
                                           {"error", to_problem(r.error()).message}});
        continue;
      }
      ++e.attempt;
      std::lock_guard<std::mutex> guard{mtx_};
      c.queue.push_back(std::move(e));
    }
  }

  int max_attempts_;
  std::mutex mtx_;
  std::condition_variable cv_;
  std::map<std::string, std::unique_ptr<consumer>> groups_;
  /// The newest events, replayed to groups that subscribe later.
  static constexpr size_t history_limit = 10'000;
  std::deque<event> history_;
  bool stopping_ = false;
  std::shared_ptr<listeners> listeners_ = std::make_shared<listeners>();
};

}  // namespace

std::unique_ptr<event_bus> make_in_process_bus(int max_attempts) {
  return std::make_unique<in_process_bus>(max_attempts);
}

result<void> event_bus::publish(const std::string& type, std::string payload) {
  return publish(type, std::move(payload), next_id());
}

}  // namespace pixhive::bus
