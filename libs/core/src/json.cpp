#include "pixhive/core/json.hpp"

namespace pixhive {

namespace {

struct too_deep {};

}  // namespace

result<nlohmann::json> parse_json(std::string_view text, int max_depth) {
  using json = nlohmann::json;
  // The callback sees each object or array as it opens; throwing stops the parser before it
  // builds anything deeper.
  json::parser_callback_t bound = [max_depth](int depth, json::parse_event_t event, json&) {
    if ((event == json::parse_event_t::object_start || event == json::parse_event_t::array_start) &&
        depth >= max_depth)
      throw too_deep{};
    return true;
  };
  try {
    auto value = json::parse(text, bound, false);
    if (value.is_discarded())
      return make_error(errc::invalid_argument, "malformed_json", "the JSON is not valid");
    return value;
  } catch (const too_deep&) {
    return make_error(errc::invalid_argument, "json_too_deep",
                      "the JSON nests deeper than " + std::to_string(max_depth) + " levels");
  }
}

nlohmann::json parse_json_or_null(std::string_view text) {
  auto parsed = parse_json(text);
  return parsed ? std::move(*parsed) : nlohmann::json();
}

}  // namespace pixhive
