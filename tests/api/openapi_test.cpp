// docs/openapi.yaml, read with yaml-cpp, and the routes the binary registers describe the same
// operations, and every path template's parameters are declared.
#include <set>

#include <gtest/gtest.h>

#include <caf/all.hpp>

#include "openapi_doc.hpp"
#include "pixhive/auth/auth.hpp"
#include "pixhive/feed/feed.hpp"
#include "pixhive/graph/graph.hpp"
#include "pixhive/http/server.hpp"
#include "pixhive/media/media.hpp"
#include "pixhive/processing/processing.hpp"
#include "pixhive/search/search.hpp"

using namespace pixhive;
using pixhive::testing::api_operation;

namespace {

/// "GET /api/v1/photos/{id}" of every route the all-in-one binary registers.
std::set<std::string> served_operations() {
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
  // /metrics is documented where it is served: on the metrics port, or here with this flag.
  http::server_config server_cfg;
  server_cfg.metrics_public = true;
  http::server srv{server_cfg, routes};
  srv.add_standard_routes(nullptr);
  std::set<std::string> out;
  for (const auto& r : routes->routes())
    out.insert(std::string(http::bhttp::to_string(r.method)) + " " + r.path);
  return out;
}

std::vector<api_operation> documented() {
  auto ops = pixhive::testing::read_operations(pixhive::testing::openapi_file());
  EXPECT_GT(ops.size(), 10u);
  return ops;
}

}  // namespace

TEST(openapi, every_route_is_documented_and_every_operation_is_served) {
  auto served = served_operations();
  ASSERT_GT(served.size(), 10u);
  std::set<std::string> described;
  for (const auto& op : documented()) described.insert(op.key());
  for (const auto& op : served)
    EXPECT_TRUE(described.count(op)) << op << " is served but missing from docs/openapi.yaml";
  for (const auto& op : described)
    EXPECT_TRUE(served.count(op)) << op << " is in docs/openapi.yaml but no route serves it";
}

TEST(openapi, path_parameters_are_declared) {
  for (const auto& op : documented()) {
    auto in_path = pixhive::testing::template_parameters(op.path);
    EXPECT_EQ(std::set<std::string>(in_path.begin(), in_path.end()), op.path_parameters)
        << op.key() << ": the path's {parameters} and its `in: path` parameters differ";
  }
}

TEST(openapi, secured_operations_document_401) {
  for (const auto& op : documented()) {
    if (op.secured) {
      EXPECT_TRUE(op.statuses.count("401")) << op.key() << " takes a token but documents no 401";
    }
  }
}
