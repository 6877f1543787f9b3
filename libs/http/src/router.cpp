#include "pixhive/http/router.hpp"

#include <algorithm>

namespace pixhive::http {

namespace {

// Splits "/a/b" into its segments. Empty segments ("//metrics", "/a/", no leading '/') are not
// collapsed: such a path names no route, so no rule written for "/metrics" is bypassed by
// spelling it differently.
std::optional<std::vector<std::string_view>> split_path(std::string_view path) {
  std::vector<std::string_view> out;
  if (path.empty() || path.front() != '/') return std::nullopt;
  if (path == "/") return out;
  size_t pos = 1;
  while (pos <= path.size()) {
    auto next = path.find('/', pos);
    if (next == std::string_view::npos) next = path.size();
    if (next == pos) return std::nullopt;
    out.push_back(path.substr(pos, next - pos));
    pos = next + 1;
  }
  return out;
}

}  // namespace

std::optional<std::string> percent_decode(std::string_view in, bool plus_is_space) {
  std::string out;
  out.reserve(in.size());
  for (size_t i = 0; i < in.size(); ++i) {
    char c = in[i];
    if (c == '%') {
      if (i + 2 >= in.size()) return std::nullopt;
      auto hex = [](char h) -> int {
        if (h >= '0' && h <= '9') return h - '0';
        if (h >= 'a' && h <= 'f') return h - 'a' + 10;
        if (h >= 'A' && h <= 'F') return h - 'A' + 10;
        return -1;
      };
      int hi = hex(in[i + 1]), lo = hex(in[i + 2]);
      if (hi < 0 || lo < 0) return std::nullopt;
      out += static_cast<char>(hi * 16 + lo);
      i += 2;
    } else if (c == '+' && plus_is_space) {
      out += ' ';
    } else {
      out += c;
    }
  }
  return out;
}

std::map<std::string, std::string> parse_query(std::string_view qs) {
  std::map<std::string, std::string> out;
  size_t pos = 0;
  while (pos <= qs.size()) {
    auto amp = qs.find('&', pos);
    if (amp == std::string_view::npos) amp = qs.size();
    auto pair = qs.substr(pos, amp - pos);
    if (!pair.empty()) {
      auto eq = pair.find('=');
      auto key = percent_decode(pair.substr(0, eq), true);
      auto val = eq == std::string_view::npos ? std::optional<std::string>("")
                                              : percent_decode(pair.substr(eq + 1), true);
      if (key && val) out.emplace(std::move(*key), std::move(*val));
    }
    pos = amp + 1;
  }
  return out;
}

void router::add(bhttp::verb method, std::string path, handler fn, route_options options) {
  std::vector<std::string> segments;
  for (auto s : split_path(path).value_or(std::vector<std::string_view>{}))
    segments.emplace_back(s);
  auto same = [&](const route& r) { return r.method == method && r.path == path; };
  routes_.erase(std::remove_if(routes_.begin(), routes_.end(), same), routes_.end());
  routes_.push_back(route{method, std::move(path), std::move(segments), std::move(fn), options});
}

void router::set_fallback(handler fn, route_options options) {
  fallback_ = route{bhttp::verb::get, "*", {}, std::move(fn), options};
}

router::match router::find(bhttp::verb method, std::string_view path) const {
  match out;
  auto split = split_path(path);
  if (!split) return out;
  const auto& parts = *split;
  const route* best = nullptr;
  int best_literals = -1;
  std::map<std::string, std::string> best_params;
  for (const auto& r : routes_) {
    if (r.segments.size() != parts.size()) continue;
    std::map<std::string, std::string> params;
    int literals = 0;
    bool ok = true;
    for (size_t i = 0; i < parts.size() && ok; ++i) {
      const auto& seg = r.segments[i];
      if (seg.size() > 2 && seg.front() == '{' && seg.back() == '}') {
        auto decoded = percent_decode(parts[i]);
        if (!decoded || decoded->empty())
          ok = false;
        else
          params[seg.substr(1, seg.size() - 2)] = std::move(*decoded);
      } else if (seg == parts[i]) {
        ++literals;
      } else {
        ok = false;
      }
    }
    if (!ok) continue;
    if (r.method != method) {
      if (std::find(out.allowed.begin(), out.allowed.end(), r.method) == out.allowed.end())
        out.allowed.push_back(r.method);
      continue;
    }
    // "/users/me" beats "/users/{username}": the route with more literal segments wins.
    if (literals > best_literals) {
      best = &r;
      best_literals = literals;
      best_params = std::move(params);
    }
  }
  if (best) {
    out.found = best;
    out.params = std::move(best_params);
    out.allowed.clear();
  } else if (fallback_ && out.allowed.empty() &&
             (method == bhttp::verb::get || method == bhttp::verb::head) &&
             path.rfind("/api/", 0) != 0 && path != "/metrics") {
    // The API keeps its JSON 404s, and /metrics (served on its own port) stays unknown here;
    // every other path may be a page of the web app.
    out.found = &*fallback_;
  }
  return out;
}

}  // namespace pixhive::http
