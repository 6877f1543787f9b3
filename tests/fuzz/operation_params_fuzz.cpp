// Fuzzes the parameters of image operations as POST /process and job requests take them: the
// first byte picks the operation (or an unknown name), the rest is the params JSON. Parsing must
// go through parse_json, whose depth bound is what keeps a deep document from overflowing the
// stack; whatever validate returns is canonical, so validating it again gives it back unchanged.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "fuzz_check.hpp"
#include "pixhive/core/json.hpp"
#include "pixhive/imaging/operations.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const auto& ops = pixhive::imaging::operations();
  size_t pick = data[0] % (ops.size() + 1);
  std::string operation = pick < ops.size() ? ops[pick].name : "no_such_operation";
  std::string_view text(reinterpret_cast<const char*>(data + 1), size - 1);
  auto parsed = pixhive::parse_json(text);
  nlohmann::json params = parsed ? std::move(*parsed) : nlohmann::json();
  auto valid = pixhive::imaging::validate(operation, params);
  if (!valid) {
    auto code = pixhive::to_problem(valid.error()).code;
    check(code == "invalid_parameter" || code == "unknown_operation",
          "a rejection is invalid_parameter or unknown_operation");
    return 0;
  }
  check(pick < ops.size(), "only known operations validate");
  check(valid->is_object(), "validated parameters are an object");
  auto text_out = valid->dump();
  auto again = pixhive::imaging::validate(operation, *valid);
  check(again && *again == *valid, "validated parameters validate to themselves");
  auto reparsed = pixhive::parse_json(text_out);
  check(reparsed && *reparsed == *valid, "validated parameters survive a dump and a parse");
  int reduction = pixhive::imaging::decode_reduction(operation, *valid, 4000, 3000);
  check(reduction == 1 || reduction == 2 || reduction == 4 || reduction == 8,
        "decode reduction is 1, 2, 4 or 8");
  return 0;
}
