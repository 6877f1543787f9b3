#include "pixhive/bus/redis_address.hpp"

#include <charconv>
#include <csignal>
#include <mutex>

#include "pixhive/bus/redis_handles.hpp"

namespace pixhive::bus {

namespace {

caf::error bad_url(const std::string& why) {
  return make_error(errc::invalid_argument, "bad_config",
                    "Redis URL: " + why + " (redis://[[user]:password@]host[:port][/db])");
}

/// A whole non-negative decimal number within [lo, hi], or -1.
int number(std::string_view s, int lo, int hi) {
  int v = -1;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc{} || end != s.data() + s.size() || v < lo || v > hi) return -1;
  return v;
}

bool unescape(std::string_view in, std::string& out) {
  out.clear();
  for (size_t i = 0; i < in.size(); ++i) {
    if (in[i] != '%') {
      out += in[i];
      continue;
    }
    if (i + 2 >= in.size()) return false;
    int v = 0;
    auto [end, ec] = std::from_chars(in.data() + i + 1, in.data() + i + 3, v, 16);
    if (ec != std::errc{} || end != in.data() + i + 3) return false;
    out += static_cast<char>(v);
    i += 2;
  }
  return true;
}

}  // namespace

result<redis_address> redis_address::parse(std::string_view url) {
  constexpr std::string_view scheme = "redis://";
  if (url.substr(0, scheme.size()) != scheme) {
    if (url.substr(0, 9) == "rediss://")
      return bad_url(
          "rediss:// is not spoken directly: point redis:// at a local TLS client "
          "(stunnel; docs/architecture.md, \"Redis over TLS\")");
    return bad_url("must start with redis://");
  }
  auto rest = url.substr(scheme.size());
  redis_address a;
  if (auto at = rest.rfind('@'); at != std::string_view::npos) {
    auto cred = rest.substr(0, at);
    rest = rest.substr(at + 1);
    auto colon = cred.find(':');
    if (colon == std::string_view::npos) return bad_url("credentials must be user:password");
    if (!unescape(cred.substr(0, colon), a.user) || !unescape(cred.substr(colon + 1), a.password))
      return bad_url("bad percent-encoding in the credentials");
    if (a.password.empty()) return bad_url("an empty password");
  }
  if (auto slash = rest.find('/'); slash != std::string_view::npos) {
    auto db = rest.substr(slash + 1);
    rest = rest.substr(0, slash);
    if (!db.empty()) {
      a.db = number(db, 0, 1'000'000);
      if (a.db < 0) return bad_url("the database must be a number");
    }
  }
  auto hostport = rest;
  // [v6]:port, host:port or host.
  std::string_view host = hostport, port;
  if (!hostport.empty() && hostport.front() == '[') {
    auto close = hostport.find(']');
    if (close == std::string_view::npos) return bad_url("an unclosed [ in the host");
    host = hostport.substr(1, close - 1);
    auto after = hostport.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return bad_url("junk after the host");
      port = after.substr(1);
    }
  } else if (auto colon = hostport.rfind(':'); colon != std::string_view::npos) {
    host = hostport.substr(0, colon);
    port = hostport.substr(colon + 1);
  }
  if (host.empty()) return bad_url("no host");
  a.host = std::string(host);
  if (!port.empty() || hostport.find(':') != std::string_view::npos) {
    a.port = number(port, 1, 65535);
    if (a.port < 0) return bad_url("the port must be 1..65535");
  }
  return a;
}

std::string redis_address::describe() const {
  return (host.find(':') != std::string::npos ? "[" + host + "]" : host) + ":" +
         std::to_string(port);
}

result<context_ptr> connect_redis(const redis_address& at, timeval timeout) {
  static std::once_flag ignore_sigpipe;
  std::call_once(ignore_sigpipe, [] { std::signal(SIGPIPE, SIG_IGN); });
  auto fail = [&](const std::string& why) -> caf::error {
    return make_error(errc::unavailable, "redis_unavailable",
                      "cannot connect to Redis at " + at.describe() + ": " + why);
  };
  context_ptr c{redisConnectWithTimeout(at.host.c_str(), at.port, timeout)};
  if (!c) return fail("out of memory");
  if (c->err) return fail(c->errstr);
  auto ask = [&](reply_ptr r) -> std::string {
    if (!r) return c->errstr;
    if (r->type == REDIS_REPLY_ERROR) return std::string(r->str, r->len);
    return {};
  };
  if (!at.password.empty()) {
    auto r = at.user.empty() ? reply_ptr{static_cast<redisReply*>(redisCommand(
                                   c.get(), "AUTH %b", at.password.data(), at.password.size()))}
                             : reply_ptr{static_cast<redisReply*>(redisCommand(
                                   c.get(), "AUTH %b %b", at.user.data(), at.user.size(),
                                   at.password.data(), at.password.size()))};
    // The server's words (WRONGPASS, NOAUTH) say what to fix; the password is never in them.
    if (auto why = ask(std::move(r)); !why.empty()) return fail(why);
  }
  // A server that wants a password nobody gave says so now (NOAUTH), not at the first event.
  if (auto why = ask(reply_ptr{static_cast<redisReply*>(redisCommand(c.get(), "PING"))});
      !why.empty())
    return fail(why);
  if (at.db != 0)
    if (auto why =
            ask(reply_ptr{static_cast<redisReply*>(redisCommand(c.get(), "SELECT %d", at.db))});
        !why.empty())
      return fail(why);
  return c;
}

}  // namespace pixhive::bus
