#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "pixhive/http/types.hpp"

namespace pixhive::http {

/// Maps method + path templates ("/api/v1/users/{username}") to handlers.
class router {
 public:
  /// One registered route.
  struct route {
    bhttp::verb method;
    std::string path;
    std::vector<std::string> segments;
    handler fn;
    route_options options;
  };

  /// What a lookup found.
  struct match {
    const route* found = nullptr;
    std::map<std::string, std::string> params;
    /// The path exists with other methods (answer 405 with Allow).
    std::vector<bhttp::verb> allowed;
  };

  /// Registers a route; later registrations of the same method and path replace earlier ones.
  void add(bhttp::verb method, std::string path, handler fn, route_options options = {});

  /// Registers a route whose handler returns its answer (a response, an error, or
  /// answer::later) instead of calling a responder.
  template <answering_function F>
  void add(bhttp::verb method, std::string path, F fn, route_options options = {}) {
    add(method, std::move(path), answering(std::move(fn)), std::move(options));
  }

  /// Answers GET and HEAD requests outside /api/ (and other than /metrics) that no route matches
  /// (the web app).
  void set_fallback(handler fn, route_options options = {});

  /// set_fallback() with a handler that returns its answer.
  template <answering_function F>
  void set_fallback(F fn, route_options options = {}) {
    set_fallback(answering(std::move(fn)), std::move(options));
  }

  /// Finds the route for `method` and `path` (no query string).
  match find(bhttp::verb method, std::string_view path) const;

  /// Every registered route, for the API description check.
  const std::vector<route>& routes() const { return routes_; }

 private:
  std::vector<route> routes_;
  std::optional<route> fallback_;
};

/// Decodes %XX escapes (and '+' in query strings when `plus_is_space`); nullopt when malformed.
std::optional<std::string> percent_decode(std::string_view in, bool plus_is_space = false);

/// Parses "a=1&b=2" into a map; malformed escapes are dropped.
std::map<std::string, std::string> parse_query(std::string_view qs);

}  // namespace pixhive::http
