#include <cstdio>
#include <mutex>

#include "pixhive/bus/redis_handles.hpp"
#include "pixhive/feed/timelines.hpp"

namespace pixhive::feed {

namespace {

using bus::context_ptr;
using bus::reply_ptr;

/// Members are fixed-width decimal ids with score 0, so that lexicographic order (ZRANGEBYLEX)
/// is numeric order: scores are doubles and would round 63-bit ids.
std::string member(int64_t id) {
  char buf[24];
  std::snprintf(buf, sizeof buf, "%020lld", static_cast<long long>(id));
  return buf;
}

/// Every timeline holds this lowest member, so that an empty timeline still exists.
const std::string sentinel = member(0);

std::string key(int64_t user) {
  return "pixhive:timeline:" + std::to_string(user);
}

/// Adds ARGV[2..] to each existing timeline in KEYS and trims it to ARGV[1] entries (plus the
/// sentinel at rank 0).
constexpr const char* add_script = R"lua(
local cap = tonumber(ARGV[1])
for _, k in ipairs(KEYS) do
  if redis.call('EXISTS', k) == 1 then
    for j = 2, #ARGV do redis.call('ZADD', k, 0, ARGV[j]) end
    redis.call('ZREMRANGEBYRANK', k, 1, -(cap + 1))
  end
end
return 0
)lua";

/// Replaces KEYS[1] with the sentinel ARGV[1] and the members ARGV[2..].
constexpr const char* rebuild_script = R"lua(
redis.call('DEL', KEYS[1])
for j = 1, #ARGV do redis.call('ZADD', KEYS[1], 0, ARGV[j]) end
return 0
)lua";

constexpr size_t chunk = 500;

class redis_timelines : public timeline_store {
 public:
  redis_timelines(bus::redis_address address, size_t cap)
      : address_(std::move(address)), cap_(cap) {}

  result<void> connect_check() {
    auto c = take();
    if (!c) return c.error();
    give(std::move(*c));
    return caf::unit;
  }

  result<bool> exists(int64_t user) override {
    auto r = command({"EXISTS", key(user)});
    if (!r) return r.error();
    return (*r)->integer == 1;
  }

  result<void> rebuild(int64_t user, const std::vector<int64_t>& photos) override {
    auto newest = photos;
    std::sort(newest.rbegin(), newest.rend());
    newest.erase(std::unique(newest.begin(), newest.end()), newest.end());
    if (newest.size() > cap_) newest.resize(cap_);
    std::vector<std::string> args{"EVAL", rebuild_script, "1", key(user), sentinel};
    for (auto id : newest) args.push_back(member(id));
    auto r = command(args);
    if (!r) return r.error();
    return caf::unit;
  }

  result<void> add(const std::vector<int64_t>& users, const std::vector<int64_t>& photos) override {
    if (photos.empty()) return caf::unit;
    for (size_t i = 0; i < users.size(); i += chunk) {
      auto n = std::min(chunk, users.size() - i);
      std::vector<std::string> args{"EVAL", add_script, std::to_string(n)};
      for (size_t j = 0; j < n; ++j) args.push_back(key(users[i + j]));
      args.push_back(std::to_string(cap_));
      for (auto p : photos) args.push_back(member(p));
      if (auto r = command(args); !r) return r.error();
    }
    return caf::unit;
  }

  result<void> remove(const std::vector<int64_t>& users,
                      const std::vector<int64_t>& photos) override {
    if (photos.empty() || users.empty()) return caf::unit;
    // Pipelined: one round trip for all the users.
    std::vector<std::vector<std::string>> commands;
    for (auto u : users) {
      std::vector<std::string> args{"ZREM", key(u)};
      for (auto p : photos) args.push_back(member(p));
      commands.push_back(std::move(args));
    }
    return pipeline(commands);
  }

  result<std::vector<int64_t>> page(int64_t user, int64_t before, int limit) override {
    auto r = command({"ZREVRANGEBYLEX", key(user), before ? "(" + member(before) : "+",
                      "(" + sentinel, "LIMIT", "0", std::to_string(limit)});
    if (!r) return r.error();
    std::vector<int64_t> out;
    for (size_t i = 0; i < (*r)->elements; ++i)
      out.push_back(std::stoll(std::string((*r)->element[i]->str, (*r)->element[i]->len)));
    return out;
  }

 private:
  caf::error failure(const std::string& why) {
    return make_error(errc::unavailable, "timelines_unavailable", "Redis timelines: " + why);
  }

  result<context_ptr> take() {
    {
      std::lock_guard<std::mutex> guard{mtx_};
      if (!idle_.empty()) {
        auto c = std::move(idle_.back());
        idle_.pop_back();
        return c;
      }
    }
    timeval timeout{5, 0};
    auto c = bus::connect_redis(address_, timeout);
    if (!c) return failure(to_problem(c.error()).message);
    redisSetTimeout(c->get(), timeout);
    return c;
  }

  void give(context_ptr c) {
    std::lock_guard<std::mutex> guard{mtx_};
    idle_.push_back(std::move(c));
  }

  static void append(redisContext* c, const std::vector<std::string>& args) {
    std::vector<const char*> argv;
    std::vector<size_t> lens;
    for (auto& a : args) {
      argv.push_back(a.data());
      lens.push_back(a.size());
    }
    redisAppendCommandArgv(c, static_cast<int>(args.size()), argv.data(), lens.data());
  }

  /// Sends `commands` in one round trip; a broken connection is dropped, not pooled.
  result<std::vector<reply_ptr>> run(const std::vector<std::vector<std::string>>& commands) {
    auto c = take();
    if (!c) return c.error();
    for (auto& args : commands) append(c->get(), args);
    std::vector<reply_ptr> replies;
    for (size_t i = 0; i < commands.size(); ++i) {
      void* raw = nullptr;
      if (redisGetReply(c->get(), &raw) != REDIS_OK) return failure((*c)->errstr);
      reply_ptr r{static_cast<redisReply*>(raw)};
      if (r->type == REDIS_REPLY_ERROR) {
        auto why = std::string(r->str, r->len);
        // Read the rest so the connection can be reused.
        for (++i; i < commands.size(); ++i)
          if (redisGetReply(c->get(), &raw) == REDIS_OK) freeReplyObject(raw);
        give(std::move(*c));
        return failure(why);
      }
      replies.push_back(std::move(r));
    }
    give(std::move(*c));
    return replies;
  }

  result<reply_ptr> command(const std::vector<std::string>& args) {
    auto r = run({args});
    if (!r) return r.error();
    return std::move(r->front());
  }

  result<void> pipeline(const std::vector<std::vector<std::string>>& commands) {
    for (size_t i = 0; i < commands.size(); i += chunk) {
      std::vector<std::vector<std::string>> part(
          commands.begin() + i, commands.begin() + std::min(commands.size(), i + chunk));
      if (auto r = run(part); !r) return r.error();
    }
    return caf::unit;
  }

  bus::redis_address address_;
  size_t cap_;
  std::mutex mtx_;
  std::vector<context_ptr> idle_;
};

}  // namespace

result<std::unique_ptr<timeline_store>> make_redis_timelines(const bus::redis_address& address,
                                                             size_t cap) {
  auto store = std::make_unique<redis_timelines>(address, cap);
  if (auto ok = store->connect_check(); !ok) return ok.error();
  return std::unique_ptr<timeline_store>(std::move(store));
}

}  // namespace pixhive::feed
