#pragma once

#include <cstdint>
#include <vector>

#include <caf/actor_system_config.hpp>
#include <caf/meta/type_name.hpp>

/// Message types shared by every service interface.
namespace pixhive::contracts {

/// Asks whether the service's store answers.
struct ping_request {
  bool operator==(const ping_request&) const = default;
};

/// An answer that carries nothing but success.
struct done {
  bool ok = true;
  bool operator==(const done&) const = default;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, ping_request&) {
  return f(caf::meta::type_name("ping_request"));
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, done& x) {
  return f(caf::meta::type_name("done"), x.ok);
}

/// Registers the shared message types with CAF.
void add_common_types(caf::actor_system_config& cfg);

}  // namespace pixhive::contracts
