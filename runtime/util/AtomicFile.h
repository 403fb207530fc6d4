//===- AtomicFile.h - write a file under a temporary name, rename at the end -===//
//
// Outputs never exist half-written: bytes go to `PATH.tmp.<pid>`, and commit() renames the
// temporary over PATH. An AtomicFile destroyed without a successful commit() removes its
// temporary, so every error path leaves the file system as it was.
//
//===----------------------------------------------------------------------===//
#ifndef MVC_RUNTIME_UTIL_ATOMICFILE_H
#define MVC_RUNTIME_UTIL_ATOMICFILE_H

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace mvc {

class AtomicFile {
public:
  /// Creates the temporary beside `path` (same directory, so the rename is atomic).
  static absl::StatusOr<std::unique_ptr<AtomicFile>> create(std::string path);
  ~AtomicFile();
  AtomicFile(const AtomicFile &) = delete;
  AtomicFile &operator=(const AtomicFile &) = delete;

  /// Appends at the current end.
  absl::Status write(const void *data, size_t size);
  /// Overwrites bytes already written (headers whose checksums are known last).
  absl::Status writeAt(uint64_t offset, const void *data, size_t size);
  /// Bytes appended so far.
  uint64_t size() const { return written; }
  /// Flushes, closes and renames the temporary to the final path.
  absl::Status commit();

  const std::string &path() const { return finalPath; }

private:
  AtomicFile(std::string finalPath, std::string tempPath, int fd)
      : finalPath(std::move(finalPath)), tempPath(std::move(tempPath)), fd(fd) {}
  absl::Status ioError(const char *what) const;

  std::string finalPath;
  std::string tempPath;
  int fd;
  uint64_t written = 0;
  bool committed = false;
};

} // namespace mvc

#endif // MVC_RUNTIME_UTIL_ATOMICFILE_H
