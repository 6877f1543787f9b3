#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "pixhive/core/crypto.hpp"
#include "pixhive/store/blob.hpp"

namespace pixhive::store {

namespace fs = std::filesystem;

bool valid_blob_key(std::string_view key) {
  if (key.empty() || key.size() > 512 || key.front() == '/' || key.back() == '/') return false;
  if (key.find("..") != std::string_view::npos || key.find("//") != std::string_view::npos)
    return false;
  for (char c : key)
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '/' || c == '.' || c == '_' ||
          c == '-'))
      return false;
  return true;
}

namespace {

caf::error io_error(const std::string& what, int err) {
  return make_error(errc::unavailable, "blob_store_error", what + ": " + std::strerror(err));
}

class folder_store final : public blob_store {
 public:
  explicit folder_store(fs::path root) : root_(std::move(root)) {}

  result<void> put(const std::string& key, std::string_view bytes) override {
    auto path = path_of(key);
    if (!path) return path.error();
    std::error_code ec;
    fs::create_directories(path->parent_path(), ec);
    if (ec)
      return make_error(errc::unavailable, "blob_store_error",
                        "cannot create " + path->parent_path().string());
    auto tmp = path->string() + ".tmp-" + crypto::random_token(6);
    int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0) return io_error("cannot create " + tmp, errno);
    size_t done = 0;
    while (done < bytes.size()) {
      auto n = ::write(fd, bytes.data() + done, bytes.size() - done);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        int err = errno;
        ::close(fd);
        ::unlink(tmp.c_str());
        return io_error("cannot write " + tmp, err);
      }
      done += static_cast<size_t>(n);
    }
    if (::fsync(fd) != 0 || ::close(fd) != 0) {
      int err = errno;
      ::unlink(tmp.c_str());
      return io_error("cannot flush " + tmp, err);
    }
    if (::rename(tmp.c_str(), path->c_str()) != 0) {
      int err = errno;
      ::unlink(tmp.c_str());
      return io_error("cannot rename into " + path->string(), err);
    }
    // The rename is durable only once the directory entry is on disk.
    int dir = ::open(path->parent_path().c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dir >= 0) {
      ::fsync(dir);
      ::close(dir);
    }
    return caf::unit;
  }

  result<std::string> get(const std::string& key) override {
    auto path = path_of(key);
    if (!path) return path.error();
    int fd = ::open(path->c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
      if (errno == ENOENT) return make_error(errc::not_found, "blob_not_found", "no such blob");
      return io_error("cannot open " + path->string(), errno);
    }
    struct stat st {};
    ::fstat(fd, &st);
    std::string out(static_cast<size_t>(st.st_size), '\0');
    size_t done = 0;
    while (done < out.size()) {
      auto n = ::read(fd, out.data() + done, out.size() - done);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
      done += static_cast<size_t>(n);
    }
    ::close(fd);
    out.resize(done);
    return out;
  }

  result<void> remove(const std::string& key) override {
    auto path = path_of(key);
    if (!path) return path.error();
    if (::unlink(path->c_str()) != 0 && errno != ENOENT)
      return io_error("cannot delete " + path->string(), errno);
    return caf::unit;
  }

  std::string_view backend() const override { return "folder"; }

 private:
  // Two levels of 256 directories from a hash of the key keep folders small for millions of blobs.
  result<fs::path> path_of(const std::string& key) const {
    if (!valid_blob_key(key))
      return make_error(errc::invalid_argument, "invalid_blob_key", "invalid blob key");
    auto h = crypto::sha256_hex(key);
    auto flat = key;
    for (auto& c : flat)
      if (c == '/') c = '_';
    return root_ / h.substr(0, 2) / h.substr(2, 2) / flat;
  }

  fs::path root_;
};

}  // namespace

result<std::unique_ptr<blob_store>> open_folder_store(const std::string& root) {
  std::error_code ec;
  fs::create_directories(root, ec);
  if (ec || !fs::is_directory(root))
    return make_error(errc::unavailable, "blob_store_error", "cannot use blob folder " + root);
  return std::unique_ptr<blob_store>{new folder_store(root)};
}

}  // namespace pixhive::store
