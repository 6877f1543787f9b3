// Every route the binary serves must be described in docs/openapi.yaml.
#include <fstream>
#include <regex>
#include <set>

#include <gtest/gtest.h>

#include <caf/all.hpp>

#include "pixhive/auth/auth.hpp"
#include "pixhive/feed/feed.hpp"
#include "pixhive/graph/graph.hpp"
#include "pixhive/http/server.hpp"
#include "pixhive/media/media.hpp"
#include "pixhive/processing/processing.hpp"
#include "pixhive/search/search.hpp"

using namespace pixhive;

namespace {

std::set<std::string> documented_operations() {
  std::ifstream in{std::string(PIXHIVE_SOURCE_DIR) + "/docs/openapi.yaml"};
  EXPECT_TRUE(in) << "docs/openapi.yaml is missing";
  std::set<std::string> ops;
  std::string line, path;
  static const std::regex path_re(R"(^  (/[^:]*):\s*$)");
  static const std::regex method_re(R"(^    (get|put|post|patch|delete|head|options):\s*$)");
  bool in_paths = false;
  std::smatch m;
  while (std::getline(in, line)) {
    if (line.rfind("paths:", 0) == 0) {
      in_paths = true;
      continue;
    }
    if (!line.empty() && line[0] != ' ' && line[0] != '#') in_paths = false;
    if (!in_paths) continue;
    if (std::regex_match(line, m, path_re))
      path = m[1];
    else if (std::regex_match(line, m, method_re) && !path.empty())
      ops.insert(std::string(m[1]) + " " + path);
  }
  return ops;
}

std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(c));
  return s;
}

}  // namespace

TEST(openapi, every_route_is_documented) {
  caf::actor_system_config cfg;
  cfg.set("logger.verbosity", caf::atom("quiet"));
  caf::actor_system sys{cfg};
  auto routes = std::make_shared<http::router>();
  auth::add_routes(*routes, sys, contracts::auth_actor{});
  media::add_routes(*routes, sys, contracts::media_actor{}, media::media_config{});
  processing::add_routes(*routes, sys, contracts::processing_actor{},
                         std::shared_ptr<bus::event_bus>(bus::make_in_process_bus()),
                         processing::processing_config{});
  graph::add_routes(*routes, sys, contracts::graph_actor{});
  feed::add_routes(*routes, sys, contracts::feed_actor{});
  search::add_routes(*routes, sys, contracts::search_actor{});
  http::server srv{http::server_config{}, routes};
  srv.add_standard_routes(nullptr);
  auto documented = documented_operations();
  ASSERT_FALSE(documented.empty());
  ASSERT_GT(routes->routes().size(), 10u);
  for (const auto& r : routes->routes()) {
    auto op = lower(std::string(http::bhttp::to_string(r.method))) + " " + r.path;
    EXPECT_TRUE(documented.count(op)) << op << " is served but missing from docs/openapi.yaml";
  }
}
