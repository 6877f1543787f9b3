#pragma once

#include <string_view>

#include <nlohmann/json.hpp>

namespace pixhive::log {

/// Severity of a log line.
enum class level { debug, info, warn, error };

/// Sets up JSON-lines logging to stderr at `min_level` ("debug", "info", "warn", "error").
void init(std::string_view min_level);

/// True when lines of `lvl` are written; lets callers skip building fields.
bool enabled(level lvl);

/// Writes one JSON object per line: {"ts","level","event", ...fields}.
void write(level lvl, std::string_view event, const nlohmann::json& fields = {});

/// write() for lines a client can cause at will (refused connections, failed accepts): at most
/// `per_second` lines per event name each second; the next line written says how many were
/// suppressed (`"suppressed": N`), so a flood costs a few lines, not gigabytes.
void sampled(level lvl, std::string_view event, const nlohmann::json& fields = {},
             int per_second = 5);

/// Shorthands for write().
inline void debug(std::string_view e, const nlohmann::json& f = {}) {
  write(level::debug, e, f);
}
inline void info(std::string_view e, const nlohmann::json& f = {}) {
  write(level::info, e, f);
}
inline void warn(std::string_view e, const nlohmann::json& f = {}) {
  write(level::warn, e, f);
}
inline void error(std::string_view e, const nlohmann::json& f = {}) {
  write(level::error, e, f);
}

}  // namespace pixhive::log
