#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "pixhive/core/error.hpp"

namespace pixhive::store {

/// Where a service keeps its blobs (originals, thumbnails, derived images). Keys are made by the
/// service (never taken from user input): lower-case letters, digits, '/', '.', '_' and '-'.
/// Calls block: run them on actor threads.
class blob_store {
 public:
  virtual ~blob_store() = default;
  /// Stores `bytes` under `key`, replacing what was there; durable once it returns.
  virtual result<void> put(const std::string& key, std::string_view bytes) = 0;
  /// Reads the blob; `errc::not_found` when there is none.
  virtual result<std::string> get(const std::string& key) = 0;
  /// Deletes the blob; deleting a missing blob succeeds.
  virtual result<void> remove(const std::string& key) = 0;
  /// Which backend this is ("folder", "s3"), for metrics labels.
  virtual std::string_view backend() const = 0;
};

/// Opens a blob store in a local (or shared) folder: atomic writes (temp file, fsync, rename,
/// fsync of the directory) into directories sharded by a hash of the key.
result<std::unique_ptr<blob_store>> open_folder_store(const std::string& root);

/// True when `key` is a valid blob key (see blob_store).
bool valid_blob_key(std::string_view key);

}  // namespace pixhive::store
