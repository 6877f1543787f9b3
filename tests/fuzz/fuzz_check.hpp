#pragma once

#include <cstdio>
#include <cstdlib>

/// Stops the run when an invariant of the code under test is broken: libFuzzer and the replay
/// driver both report an abort as a finding, with this line saying which invariant.
inline void check(bool ok, const char* what) {
  if (ok) return;
  std::fprintf(stderr, "invariant broken: %s\n", what);
  std::abort();
}
