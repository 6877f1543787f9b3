#pragma once

#include <cstdint>
#include <cstdlib>

#include <string_view>

#include <nlohmann/json.hpp>

#include "pixhive/core/json.hpp"

namespace pixhive::bus {

/// An event payload as a JSON object, parsed with the depth bound; anything else (malformed,
/// too deep, not an object) is a discarded value, which handlers log and acknowledge.
inline nlohmann::json parse_payload(std::string_view payload) {
  auto parsed = parse_json(payload);
  if (!parsed || !parsed->is_object()) return nlohmann::json(nlohmann::json::value_t::discarded);
  return std::move(*parsed);
}

/// The id `key` of an event payload: ids travel as decimal strings (JSON numbers lose 63-bit
/// precision in other languages), plain numbers are accepted too; missing or malformed is 0.
inline int64_t id_in(const nlohmann::json& payload, const char* key) {
  auto it = payload.find(key);
  if (it == payload.end()) return 0;
  if (it->is_number_integer()) return it->get<int64_t>();
  if (!it->is_string()) return 0;
  const auto& text = it->get_ref<const std::string&>();
  char* end = nullptr;
  auto v = std::strtoll(text.c_str(), &end, 10);
  return end && *end == '\0' && v > 0 ? v : 0;
}

}  // namespace pixhive::bus
