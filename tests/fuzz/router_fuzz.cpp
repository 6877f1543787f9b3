// Fuzzes request routing with the templates the services register: the first byte picks the
// method, the rest is the request target (path and query string). A match must be for the asked
// method, bind only the template's parameters, and never leave a 405 that names that method.
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "fuzz_check.hpp"
#include "pixhive/http/router.hpp"

namespace {

namespace bhttp = boost::beast::http;
using bhttp::verb;

const pixhive::http::router& routes() {
  static const pixhive::http::router r = [] {
    pixhive::http::router out;
    const std::pair<verb, const char*> templates[] = {
        {verb::get, "/healthz"},
        {verb::get, "/readyz"},
        {verb::get, "/metrics"},
        {verb::post, "/api/v1/auth/signup"},
        {verb::post, "/api/v1/auth/login"},
        {verb::get, "/api/v1/users/me"},
        {verb::patch, "/api/v1/users/me"},
        {verb::get, "/api/v1/users/{username}"},
        {verb::put, "/api/v1/users/{username}/follow"},
        {verb::delete_, "/api/v1/users/{username}/follow"},
        {verb::get, "/api/v1/users/{username}/photos"},
        {verb::get, "/api/v1/users/{username}/photos/by-key/{key}"},
        {verb::post, "/api/v1/photos"},
        {verb::get, "/api/v1/photos/{id}"},
        {verb::delete_, "/api/v1/photos/{id}"},
        {verb::get, "/api/v1/photos/{id}/original"},
        {verb::get, "/api/v1/photos/{id}/variants/{name}"},
        {verb::put, "/api/v1/photos/{id}/like"},
        {verb::delete_, "/api/v1/photos/{id}/comments/{comment_id}"},
        {verb::post, "/api/v1/photos/{id}/jobs"},
        {verb::get, "/api/v1/jobs/{id}/events"},
        {verb::post, "/api/v1/process"},
        {verb::get, "/api/v1/tags/{tag}"},
        {verb::get, "/api/v1/search"},
        {verb::put, "/api/v1/admin/cache"},
    };
    for (const auto& [method, path] : templates) out.add(method, path, {});
    return out;
  }();
  return r;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  static const verb methods[] = {verb::get,   verb::post, verb::put,    verb::delete_,
                                 verb::patch, verb::head, verb::options};
  verb method = methods[data[0] % std::size(methods)];
  std::string_view target(reinterpret_cast<const char*>(data + 1), size - 1);
  auto question = target.find('?');
  auto path = target.substr(0, question);
  auto query =
      question == std::string_view::npos ? std::string_view{} : target.substr(question + 1);

  auto match = routes().find(method, path);
  if (match.found) {
    check(match.found->method == method, "a match is for the asked method");
    check(match.allowed.empty(), "a match has no 405 list");
    for (const auto& [name, value] : match.params) {
      check(match.found->path.find("{" + name + "}") != std::string::npos,
            "bound parameters come from the template");
      check(!value.empty(), "bound parameters are not empty");
    }
  } else {
    check(match.params.empty(), "no match binds nothing");
    check(std::find(match.allowed.begin(), match.allowed.end(), method) == match.allowed.end(),
          "a 405 never lists the asked method");
  }

  for (bool plus : {false, true}) {
    auto decoded = pixhive::http::percent_decode(target, plus);
    if (decoded) check(decoded->size() <= target.size(), "decoding never grows the text");
  }
  auto params = pixhive::http::parse_query(query);
  for (const auto& [key, value] : params)
    check(key.size() + value.size() <= query.size(), "query pairs come from the query");
  return 0;
}
