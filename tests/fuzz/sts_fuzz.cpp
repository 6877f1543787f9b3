// Fuzzes the reading of STS's AssumeRoleWithWebIdentity answer (what a network peer posing as
// STS could send): never a crash, and accepted credentials always have their three keys.
#include <cstdint>
#include <string_view>

#include "fuzz_check.hpp"
#include "pixhive/store/s3.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view xml(reinterpret_cast<const char*>(data), size);
  auto r = pixhive::store::parse_sts_credentials(xml);
  if (r)
    check(!r->credentials.access_key.empty() && !r->credentials.secret_key.empty(),
          "accepted credentials have keys");
  return 0;
}
