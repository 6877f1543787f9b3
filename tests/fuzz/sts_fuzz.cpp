// Fuzzes the reading of STS's AssumeRoleWithWebIdentity answer (what a network peer posing as
// STS could send): never a crash, and accepted credentials always have their keys, and nothing in
// them that could break the request headers they are sent in (x-amz-security-token, the
// Authorization header libcurl builds from the keys).
#include <algorithm>
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz_check.hpp"
#include "pixhive/store/s3.hpp"

namespace {

bool header_safe(const std::string& s) {
  return std::none_of(s.begin(), s.end(), [](unsigned char c) { return c < 0x20 || c == 0x7f; });
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view xml(reinterpret_cast<const char*>(data), size);
  auto r = pixhive::store::parse_sts_credentials(xml);
  if (r) {
    check(!r->credentials.access_key.empty() && !r->credentials.secret_key.empty(),
          "accepted credentials have keys");
    check(header_safe(r->credentials.access_key) && header_safe(r->credentials.secret_key) &&
              header_safe(r->credentials.session_token),
          "accepted credentials hold no control characters");
  }
  return 0;
}
