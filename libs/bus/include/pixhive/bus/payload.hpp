#pragma once

#include <optional>
#include <string_view>

#include <nlohmann/json.hpp>

#include "pixhive/bus/bus.hpp"
#include "pixhive/core/json.hpp"

namespace pixhive::bus {

/// An event payload as a JSON object, parsed with the depth bound; anything else (malformed,
/// too deep, not an object) is a discarded value, which handlers log and acknowledge.
inline nlohmann::json parse_payload(std::string_view payload) {
  auto parsed = parse_json(payload);
  if (!parsed || !parsed->is_object()) return nlohmann::json(nlohmann::json::value_t::discarded);
  return std::move(*parsed);
}

/// An event payload read as its struct `T` (contracts/events.hpp): keys it lacks keep their
/// defaults, ids are read from decimal strings or numbers. Nothing when the payload is not a
/// JSON object or a field has the wrong type: redelivery cannot fix such an event, so handlers
/// log it and acknowledge it.
template <class T>
std::optional<T> read(std::string_view payload) {
  auto body = parse_payload(payload);
  if (!body.is_object()) return std::nullopt;
  try {
    return body.get<T>();
  } catch (const nlohmann::json::exception&) {
    return std::nullopt;
  }
}

/// The payload of `e` read as its struct `T` (see read(std::string_view)).
template <class T>
std::optional<T> read(const event& e) {
  return read<T>(e.payload);
}

}  // namespace pixhive::bus
