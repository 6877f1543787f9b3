#pragma once

#include <cstdint>
#include <cstdlib>

#include <nlohmann/json.hpp>

namespace pixhive::bus {

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
