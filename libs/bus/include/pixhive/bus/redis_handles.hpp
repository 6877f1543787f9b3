#pragma once

#include <csignal>
#include <memory>
#include <mutex>
#include <string>

#include <hiredis/hiredis.h>

#include "pixhive/bus/redis_address.hpp"
#include "pixhive/core/error.hpp"

namespace pixhive::bus {

/// Frees a hiredis reply.
struct redis_reply_deleter {
  void operator()(redisReply* r) const { freeReplyObject(r); }
};
/// An owned hiredis reply.
using reply_ptr = std::unique_ptr<redisReply, redis_reply_deleter>;

/// Closes a hiredis connection.
struct redis_context_deleter {
  void operator()(redisContext* c) const { redisFree(c); }
};
/// An owned hiredis connection.
using context_ptr = std::unique_ptr<redisContext, redis_context_deleter>;

/// Opens a blocking hiredis connection to `at`, logged in (AUTH) and on its database (SELECT);
/// `unavailable` with what went wrong otherwise. hiredis writes with write(2), so a peer that
/// went away (a Redis restart, or stop() shutting a socket down) would raise SIGPIPE and kill
/// the process: the signal is ignored once, process-wide, and such a write fails with EPIPE,
/// which hiredis reports as a connection error.
result<context_ptr> connect_redis(const redis_address& at, timeval timeout);

}  // namespace pixhive::bus
