#include "pixhive/core/version.hpp"

namespace pixhive {

const char* version() {
  return PIXHIVE_VERSION;
}

}  // namespace pixhive
