// Fuzzes the multipart/form-data parser behind POST /process: the input's first line is the
// Content-Type header, the rest the body. Parts must be views into the body, never beyond it.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "pixhive/http/multipart.hpp"

namespace {

void check(bool ok, const char* what) {
  if (ok) return;
  std::fprintf(stderr, "invariant broken: %s\n", what);
  std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  auto newline = input.find('\n');
  // The server hands the Content-Type over from Beast's header storage, where the value is always
  // followed by CRLF; an exact-size view would stop every run at boost::beast::iequals reading
  // one byte past a view that ends in a case-mismatched "boundarY" (tests/fuzz/known/).
  const std::string content_type(input.substr(0, newline));
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
