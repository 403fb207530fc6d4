//===- AtomicFile.h - write a file under a temporary name, rename at the end -===//
//
// Outputs never exist half-written: bytes go to a fresh temporary beside PATH
// (`.NAME.tmp.XXXXXX`, created with O_EXCL), and commit() renames it over PATH. PATH is
// replaced only if it is a regular file or absent (checked at create and again at commit):
// never a symlink, a device or a directory. An AtomicFile destroyed without a successful
// commit() removes its temporary, so every error path leaves the file system as it was.
// Renaming is also the safe way to replace an artifact a running process has mapped: the
// process keeps the old file.
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

  /// Whether `path` may be written: absent in an existing writable directory, or a regular
  /// file. Tools call it before long work, so a bad -o fails at once, not at the end.
  static absl::Status checkTarget(const std::string &path);
  static std::string directoryOf(const std::string &path);

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
