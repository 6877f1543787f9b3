#pragma once

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>

namespace pixhive::bus {

/// The local side of broadcasts: who in this process listens to which topic. Both backends
/// deliver through it.
class listeners : public std::enable_shared_from_this<listeners> {
 public:
  using callback = std::function<void(const std::string&)>;

  /// Registers `fn`; it is removed when the returned handle is released.
  std::shared_ptr<void> add(const std::string& topic, callback fn) {
    std::lock_guard<std::mutex> guard{mtx_};
    auto id = next_++;
    by_topic_[topic][id] = std::make_shared<callback>(std::move(fn));
    std::weak_ptr<listeners> weak = shared_from_this();
    return std::shared_ptr<void>(nullptr, [weak, topic, id](void*) {
      if (auto self = weak.lock()) self->remove(topic, id);
    });
  }

  /// Calls every listener of `topic`, outside the lock (a callback may add or remove one).
  void dispatch(const std::string& topic, const std::string& message) {
    std::vector<std::shared_ptr<callback>> targets;
    {
      std::lock_guard<std::mutex> guard{mtx_};
      auto it = by_topic_.find(topic);
      if (it == by_topic_.end()) return;
      for (auto& [id, fn] : it->second) targets.push_back(fn);
    }
    for (auto& fn : targets) (*fn)(message);
  }

 private:
  void remove(const std::string& topic, uint64_t id) {
    std::lock_guard<std::mutex> guard{mtx_};
    auto it = by_topic_.find(topic);
    if (it == by_topic_.end()) return;
    it->second.erase(id);
    if (it->second.empty()) by_topic_.erase(it);
  }

  std::mutex mtx_;
  uint64_t next_ = 1;
  std::map<std::string, std::map<uint64_t, std::shared_ptr<callback>>> by_topic_;
};

}  // namespace pixhive::bus
