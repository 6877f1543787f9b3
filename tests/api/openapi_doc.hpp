#pragma once

#include <set>
#include <string>
#include <vector>

namespace pixhive::testing {

/// One operation of docs/openapi.yaml, as the tests compare it with the server.
struct api_operation {
  /// Upper case, as on the wire: "GET".
  std::string method;
  /// The path template: "/api/v1/photos/{id}".
  std::string path;
  /// The documented response status codes ("200", "404", …).
  std::set<std::string> statuses;
  /// The names of the path template's parameters declared `in: path` (path and operation level).
  std::set<std::string> path_parameters;
  /// Whether the operation declares a security requirement.
  bool secured = false;

  /// "GET /api/v1/photos/{id}".
  std::string key() const { return method + " " + path; }
};

/// docs/openapi.yaml of this source tree.
std::string openapi_file();

/// Every operation of the OpenAPI document `file`, read with yaml-cpp; throws YAML::Exception
/// when the file is not YAML.
std::vector<api_operation> read_operations(const std::string& file);

/// The `{name}` parameters of a path template, in order.
std::vector<std::string> template_parameters(const std::string& path);

}  // namespace pixhive::testing
