#pragma once

#include <string_view>

#include <nlohmann/json.hpp>

#include "pixhive/core/error.hpp"

namespace pixhive {

/// How deeply objects and arrays may nest in any JSON PixHive parses (request bodies, multipart
/// fields, bus payloads, token parts). Real documents here nest 3-4 levels; copying, dumping or
/// comparing a parsed value recurses once per level, so an unbounded depth is a stack overflow.
inline constexpr int max_json_depth = 64;

/// Parses `text` as JSON with nesting bounded while parsing: deeper than `max_depth` → 400
/// `json_too_deep` (parsing stops at that level); not JSON → 400 `malformed_json`.
result<nlohmann::json> parse_json(std::string_view text, int max_depth = max_json_depth);

/// parse_json() for text this system wrote itself (stored job data, token parts after their
/// signature check): null when it is not acceptable JSON.
nlohmann::json parse_json_or_null(std::string_view text);

}  // namespace pixhive
