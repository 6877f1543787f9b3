#include "pixhive/core/worker_pool.hpp"

#include <prometheus/family.h>

#include "pixhive/metrics/metrics.hpp"

namespace pixhive {

prometheus::Gauge& mailbox_gauge(const std::string& actor, const std::string& worker) {
  static auto& family =
      prometheus::BuildGauge()
          .Name("pixhive_actor_mailbox_size")
          .Help("Messages waiting in a service actor's mailbox, sampled every second")
          .Register(metrics::registry());
  return family.Add({{"actor", actor}, {"worker", worker}});
}

}  // namespace pixhive
