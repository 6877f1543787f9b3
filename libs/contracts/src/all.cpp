#include "pixhive/contracts/all.hpp"

#include "pixhive/core/worker_pool.hpp"

namespace pixhive::contracts {

namespace {

template <class... Signatures>
bool idempotent_in(const caf::message& m, caf::detail::type_list<Signatures...>) {
  return ((idempotent<typename request_of<Signatures>::type> &&
           m.match_element<typename request_of<Signatures>::type>(0)) ||
          ...);
}

template <class... Handles>
bool idempotent_in_any(const caf::message& m, caf::detail::type_list<Handles...>) {
  return (idempotent_in(m, typename Handles::signatures{}) || ...);
}

template <class... Handles>
void add_interfaces(caf::actor_system_config& cfg, caf::detail::type_list<Handles...>) {
  add_types<Handles...>(cfg);
}

}  // namespace

void add_all_types(caf::actor_system_config& cfg) {
  add_interfaces(cfg, all_interfaces{});
}

bool is_idempotent(const caf::message& request) {
  return !request.empty() && idempotent_in_any(request, all_interfaces{});
}

}  // namespace pixhive::contracts
