//===- AtomicFile.cpp -----------------------------------------------------===//
#include "runtime/util/AtomicFile.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <unistd.h>

#include "absl/strings/str_cat.h"

namespace mvc {

absl::StatusOr<std::unique_ptr<AtomicFile>> AtomicFile::create(std::string path) {
  std::string tempPath = absl::StrCat(path, ".tmp.", getpid());
  int fd = ::open(tempPath.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0)
    return absl::InternalError(
        absl::StrCat(path, ": cannot create ", tempPath, ": ", std::strerror(errno)));
  return std::unique_ptr<AtomicFile>(new AtomicFile(std::move(path), std::move(tempPath), fd));
}

AtomicFile::~AtomicFile() {
  if (fd >= 0)
    ::close(fd);
  if (!committed)
    ::unlink(tempPath.c_str());
}

absl::Status AtomicFile::ioError(const char *what) const {
  return absl::InternalError(
      absl::StrCat(finalPath, ": ", what, " ", tempPath, ": ", std::strerror(errno)));
}

absl::Status AtomicFile::write(const void *data, size_t size) {
  if (absl::Status status = writeAt(written, data, size); !status.ok())
    return status;
  written += size;
  return absl::OkStatus();
}

absl::Status AtomicFile::writeAt(uint64_t offset, const void *data, size_t size) {
  if (fd < 0)
    return absl::FailedPreconditionError(finalPath + ": file already committed");
  const auto *bytes = static_cast<const char *>(data);
  while (size != 0) {
    ssize_t n = ::pwrite(fd, bytes, size, static_cast<off_t>(offset));
    if (n < 0) {
      if (errno == EINTR)
        continue;
      return ioError("cannot write");
    }
    bytes += n;
    offset += static_cast<uint64_t>(n);
    size -= static_cast<size_t>(n);
  }
  return absl::OkStatus();
}

absl::Status AtomicFile::commit() {
  if (fd < 0)
    return absl::FailedPreconditionError(finalPath + ": file already committed");
  int result = ::close(fd);
  fd = -1;
  if (result != 0)
    return ioError("cannot close");
  if (::rename(tempPath.c_str(), finalPath.c_str()) != 0)
    return ioError("cannot rename");
  committed = true;
  return absl::OkStatus();
}

} // namespace mvc
