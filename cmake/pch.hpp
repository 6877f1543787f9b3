// The headers most translation units pull in, parsed once per build instead of once per file:
// CAF alone is about a third of a service file's compile time (the top-level CMakeLists.txt
// gives every library and program this precompiled header).
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <spdlog/spdlog.h>
#include <boost/beast/http.hpp>
#include <boost/describe.hpp>
#include <boost/pfr.hpp>
#include <caf/all.hpp>
#include <caf/io/all.hpp>
#include <nlohmann/json.hpp>
