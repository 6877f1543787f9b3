#include "openapi_doc.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <regex>

#include <yaml-cpp/yaml.h>

namespace pixhive::testing {

namespace {

// The HTTP methods an OpenAPI 3.0 path item may hold; its other keys (parameters, summary,
// servers, …) are not operations.
constexpr std::array<const char*, 8> methods{"get",     "put",  "post",  "delete",
                                             "options", "head", "patch", "trace"};

std::string upper(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return s;
}

/// A node, with a local `$ref` ("#/components/…") followed.
YAML::Node resolve(const YAML::Node& root, YAML::Node node) {
  for (int hops = 0; hops < 8 && node.IsMap() && node["$ref"]; ++hops) {
    auto ref = node["$ref"].as<std::string>();
    if (ref.rfind("#/", 0) != 0) break;
    YAML::Node at = root;
    size_t start = 2;
    while (start <= ref.size()) {
      auto end = ref.find('/', start);
      if (end == std::string::npos) end = ref.size();
      // The const operator[] only reads; the non-const one would add missing keys.
      const YAML::Node& parent = at;
      at.reset(parent[ref.substr(start, end - start)]);
      start = end + 1;
    }
    node.reset(at);
  }
  return node;
}

void add_path_parameters(const YAML::Node& root, const YAML::Node& list,
                         std::set<std::string>& out) {
  if (!list || !list.IsSequence()) return;
  for (const auto& p : list) {
    auto param = resolve(root, p);
    if (param["in"] && param["in"].as<std::string>() == "path" && param["name"])
      out.insert(param["name"].as<std::string>());
  }
}

}  // namespace

std::string openapi_file() {
  return std::string(PIXHIVE_SOURCE_DIR) + "/docs/openapi.yaml";
}

std::vector<api_operation> read_operations(const std::string& file) {
  const YAML::Node root = YAML::LoadFile(file);
  std::vector<api_operation> ops;
  bool global_security = root["security"] && root["security"].size() > 0;
  for (const auto& entry : root["paths"]) {
    auto path = entry.first.as<std::string>();
    const auto& item = entry.second;
    for (const char* m : methods) {
      const YAML::Node op = item[m];
      if (!op) continue;
      api_operation out;
      out.method = upper(m);
      out.path = path;
      for (const auto& r : op["responses"]) out.statuses.insert(r.first.as<std::string>());
      add_path_parameters(root, item["parameters"], out.path_parameters);
      add_path_parameters(root, op["parameters"], out.path_parameters);
      out.secured = op["security"] ? op["security"].size() > 0 : global_security;
      ops.push_back(std::move(out));
    }
  }
  return ops;
}

std::vector<std::string> template_parameters(const std::string& path) {
  static const std::regex param_re(R"(\{([^}/]+)\})");
  std::vector<std::string> out;
  for (std::sregex_iterator it(path.begin(), path.end(), param_re), end; it != end; ++it)
    out.push_back((*it)[1]);
  return out;
}

}  // namespace pixhive::testing
