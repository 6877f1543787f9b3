// Fuzzes the multipart/form-data parser behind POST /process: the input's first line is the
// Content-Type header, the rest the body. Parts must be views into the body, never beyond it.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz_check.hpp"
#include "pixhive/http/multipart.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  auto newline = input.find('\n');
  // An exact-size copy: a read one byte past the Content-Type is a finding (it was one).
  std::vector<char> type_bytes(
      input.begin(), newline == std::string_view::npos ? input.end() : input.begin() + newline);
  std::string_view content_type(type_bytes.data(), type_bytes.size());
  auto body = newline == std::string_view::npos ? std::string_view{} : input.substr(newline + 1);
  auto parts = pixhive::http::parse_multipart(body, content_type);
  if (!parts) return 0;
  const char* begin = body.data();
  const char* end = body.data() + body.size();
  const char* previous_end = begin;
  for (const auto& part : *parts) {
    check(!part.name.empty(), "every part has a name");
    check(part.data.data() >= begin && part.data.data() + part.data.size() <= end,
          "part data lies inside the body");
    check(part.data.data() >= previous_end, "parts come in body order without overlapping");
    previous_end = part.data.data() + part.data.size();
  }
  return 0;
}
