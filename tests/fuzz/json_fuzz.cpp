// Fuzzes parse_json, the one JSON entry point for request bodies, multipart fields and bus
// payloads: it must refuse deep nesting while parsing, and what it accepts must dump stably.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>

#include "fuzz_check.hpp"
#include "pixhive/core/json.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto value = pixhive::parse_json(text);
  if (!value) {
    auto code = pixhive::to_problem(value.error()).code;
    check(code == "malformed_json" || code == "json_too_deep",
          "a rejection is malformed_json or json_too_deep");
    return 0;
  }
  auto dumped = value->dump();
  // Non-finite numbers dump as null, so the stable form is the dump of the dump, not the value.
  auto reparsed = pixhive::parse_json(dumped);
  check(bool(reparsed), "a dump parses again");
  check(reparsed->dump() == dumped, "dumping is stable");
  return 0;
}
