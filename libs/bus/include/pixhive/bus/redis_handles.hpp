#pragma once

#include <memory>

#include <hiredis/hiredis.h>

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

}  // namespace pixhive::bus
