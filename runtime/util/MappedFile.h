//===- MappedFile.h - a read-only memory-mapped file ------------*- C++ -*-===//
//
// The one place files are mapped: artifacts, safetensors and GGUF checkpoints. Opening
// checks that the path is a regular file; an empty file maps to an empty span.
//
//===----------------------------------------------------------------------===//
#ifndef MVC_RUNTIME_UTIL_MAPPEDFILE_H
#define MVC_RUNTIME_UTIL_MAPPEDFILE_H

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/statusor.h"

namespace mvc {

class MappedFile {
public:
  /// Errors name the path: NotFound when it cannot be opened, InvalidArgument when it is
  /// not a regular file, Internal when mmap fails.
  static absl::StatusOr<std::unique_ptr<MappedFile>> open(const std::string &path);
  ~MappedFile();
  MappedFile(const MappedFile &) = delete;
  MappedFile &operator=(const MappedFile &) = delete;

  const uint8_t *data() const { return base; }
  size_t size() const { return length; }
  const std::string &path() const { return filePath; }

  /// Drops the pages wholly inside [p, p + n) from this process's memory (they are read
  /// again from the file if touched). For readers that copy a tensor out and will not
  /// look at it again soon: a compile then holds one tensor, not the checkpoint.
  static void release(const void *p, size_t n);

private:
  MappedFile(std::string path, const uint8_t *base, size_t length)
      : filePath(std::move(path)), base(base), length(length) {}
  std::string filePath;
  const uint8_t *base;
  size_t length;
};

} // namespace mvc

#endif // MVC_RUNTIME_UTIL_MAPPEDFILE_H
