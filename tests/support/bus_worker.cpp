// A job worker process for the bus tests: it consumes `job.requested` events from the Redis bus
// and records their effect in Redis idempotently (keyed by job id), so that a test can kill it
// at any moment and then check that every job took effect exactly once.
//
// usage: bus_worker PORT CONSUMER CONCURRENCY CLAIM_MS MAX_ATTEMPTS
// payload: "<job id> <work ms> <poison 0|1>"; work -1: until the key test:release:<job id> is set
// (a job that lasts exactly as long as the test needs)
#include <cstdlib>
#include <iostream>
#include <sstream>
#include <thread>

#include <hiredis/hiredis.h>
#include <csignal>

#include "pixhive/bus/redis_bus.hpp"

using namespace pixhive;

namespace {

redisContext* local_connection(int port) {
  thread_local redisContext* c = redisConnect("127.0.0.1", port);
  return c;
}

void command(redisContext* c, const std::string& cmd) {
  freeReplyObject(redisCommand(c, cmd.c_str()));
}

bool released(redisContext* c, const std::string& job) {
  auto* r = static_cast<redisReply*>(redisCommand(c, "EXISTS test:release:%s", job.c_str()));
  bool yes = r && r->type == REDIS_REPLY_INTEGER && r->integer == 1;
  freeReplyObject(r);
  return yes;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 6) {
    std::cerr << "usage: bus_worker PORT CONSUMER CONCURRENCY CLAIM_MS MAX_ATTEMPTS\n";
    return 2;
  }
  int port = std::atoi(argv[1]);
  std::string consumer = argv[2];
  bus::redis_bus_config cfg;
  cfg.address.port = port;
  cfg.consumer = consumer;
  cfg.claim_after = std::chrono::milliseconds(std::atoi(argv[4]));
  cfg.block = std::chrono::milliseconds(100);
  cfg.max_attempts = std::atoi(argv[5]);
  auto b = bus::make_redis_bus(cfg);
  if (!b) {
    std::cerr << "bus_worker: " << to_problem(b.error()).message << "\n";
    return 1;
  }
  auto bus = std::move(*b);
  int max_attempts = cfg.max_attempts;
  bus->subscribe(
      "workers", {"job.requested"},
      [port, consumer, max_attempts](const bus::event& e) -> result<void> {
        std::istringstream in{e.payload};
        std::string job;
        int work_ms = 0, poison = 0;
        in >> job >> work_ms >> poison;
        auto* c = local_connection(port);
        command(c, "INCR test:runs");
        command(c, "SET test:started:" + job + " " + consumer);
        if (poison) {
          command(c, "SET test:attempts:" + job + " " + std::to_string(e.attempt));
          if (e.attempt >= max_attempts) command(c, "SET test:failed:" + job + " " + consumer);
          return make_error(errc::internal, "poison", "this job always fails");
        }
        if (work_ms < 0) {
          while (!released(c, job)) std::this_thread::sleep_for(std::chrono::milliseconds(10));
        } else {
          std::this_thread::sleep_for(std::chrono::milliseconds(work_ms));
        }
        // The effect happens once per job id however often the job is delivered; marking the
        // job done and counting the effect is one atomic step, so a kill cannot split them.
        auto* r = static_cast<redisReply*>(redisCommand(
            c, "EVAL %s 2 test:done:%s test:effects %s",
            "if redis.call('SET', KEYS[1], ARGV[1], 'NX') then return redis.call('INCR', KEYS[2]) "
            "else return 0 end",
            job.c_str(), consumer.c_str()));
        bool ok = r && r->type == REDIS_REPLY_INTEGER;
        freeReplyObject(r);
        if (!ok) return make_error(errc::unavailable, "redis", "could not record the effect");
        return caf::unit;
      },
      std::atoi(argv[3]));
  std::cerr << "bus_worker ready " << consumer << std::endl;
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  sigprocmask(SIG_BLOCK, &set, nullptr);
  int sig = 0;
  sigwait(&set, &sig);
  bus->stop();
  return 0;
}
