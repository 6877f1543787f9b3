#pragma once

namespace pixhive {

/// The release version of this build ("0.1.0").
const char* version();

}  // namespace pixhive
