#include "pixhive/http/static_site.hpp"

#include <filesystem>
#include <fstream>
#include <iterator>

#include "pixhive/core/crypto.hpp"
#include "pixhive/http/bytes.hpp"

namespace pixhive::http {

namespace {

namespace fs = std::filesystem;

std::string content_type_of(const fs::path& p) {
  static const std::map<std::string, std::string> types{
      {".html", "text/html; charset=utf-8"},
      {".js", "text/javascript; charset=utf-8"},
      {".mjs", "text/javascript; charset=utf-8"},
      {".css", "text/css; charset=utf-8"},
      {".json", "application/json"},
      {".webmanifest", "application/manifest+json"},
      {".svg", "image/svg+xml"},
      {".png", "image/png"},
      {".jpg", "image/jpeg"},
      {".webp", "image/webp"},
      {".ico", "image/x-icon"},
      {".woff2", "font/woff2"},
      {".txt", "text/plain; charset=utf-8"},
      {".map", "application/json"}};
  auto it = types.find(p.extension().string());
  return it == types.end() ? "application/octet-stream" : it->second;
}

}  // namespace

result<std::shared_ptr<const static_site>> static_site::load(const std::string& dir) {
  auto site = std::make_shared<static_site>();
  std::error_code ec;
  for (fs::recursive_directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    if (!it->is_regular_file()) continue;
    std::ifstream in(it->path(), std::ios::binary);
    std::string bytes(std::istreambuf_iterator<char>(in), {});
    auto rel = "/" + fs::relative(it->path(), dir).generic_string();
    auto sum = crypto::sha256_hex(bytes);
    site->files_.emplace(rel, file{std::move(bytes), content_type_of(it->path()), std::move(sum)});
  }
  if (!site->files_.count("/index.html"))
    return make_error(errc::invalid_argument, "bad_config",
                      "no web app in " + dir + " (index.html missing): run scripts/bootstrap");
  return std::shared_ptr<const static_site>(std::move(site));
}

response static_site::serve(const request& req, std::string_view path) const {
  auto it = files_.find(path);
  // Files under /assets/ carry a content hash in their names: cached for good. Everything else
  // (index.html for every page of the app) is checked again each time.
  bool hashed = it != files_.end() && path.rfind("/assets/", 0) == 0;
  if (it == files_.end() || it->first == "/index.html") {
    if (it == files_.end() && path.rfind("/assets/", 0) == 0) {
      response missing{bhttp::status::not_found, 11};
      missing.set(bhttp::field::content_type, "text/plain; charset=utf-8");
      missing.body() = "no such file\n";
      missing.prepare_payload();
      return missing;
    }
    it = files_.find("/index.html");
  }
  auto res = serve_bytes(req, it->second.bytes, it->second.content_type, it->second.sha256,
                         hashed ? cache_scope::public_immutable : cache_scope::private_revalidate);
  res.set("X-Content-Type-Options", "nosniff");
  if (it->first == "/index.html") {
    // The app loads only its own scripts and styles; photos may come as blob: URLs (private
    // ones are fetched with the token).
    res.set("Content-Security-Policy",
            "default-src 'self'; img-src 'self' blob: data:; style-src 'self' 'unsafe-inline'; "
            "object-src 'none'; base-uri 'self'; frame-ancestors 'none'; form-action 'self'");
    res.set("Referrer-Policy", "same-origin");
  }
  return res;
}

}  // namespace pixhive::http
