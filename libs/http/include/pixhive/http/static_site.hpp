#pragma once

#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "pixhive/core/error.hpp"
#include "pixhive/http/types.hpp"

namespace pixhive::http {

/// A built web app (index.html and content-hashed files under assets/), read into memory once
/// and served with ETags; any other path is a page of the app and gets index.html.
class static_site {
 public:
  /// Reads every file under `dir`; an error when it holds no index.html.
  static result<std::shared_ptr<const static_site>> load(const std::string& dir);

  /// The answer to a GET or HEAD of `path` (no query string).
  response serve(const request& req, std::string_view path) const;

  /// How many files it serves.
  size_t size() const { return files_.size(); }

 private:
  struct file {
    std::string bytes;
    std::string content_type;
    std::string sha256;
  };
  std::map<std::string, file, std::less<>> files_;
};

}  // namespace pixhive::http
