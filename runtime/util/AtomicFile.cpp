//===- AtomicFile.cpp -----------------------------------------------------===//
#include "runtime/util/AtomicFile.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "absl/strings/str_cat.h"

namespace mvc {

absl::Status AtomicFile::checkTarget(const std::string &path) {
  if (path.empty()) return absl::InvalidArgumentError("output path is empty");
  struct stat st;
  if (::lstat(path.c_str(), &st) == 0) {
    // Replacing a symlink, a device or a directory entry by a file is never what was meant.
    if (!S_ISREG(st.st_mode))
      return absl::InvalidArgumentError(
          absl::StrCat("output '", path, "' exists and is not a regular file; not replacing it"));
    return absl::OkStatus();
  }
  if (errno != ENOENT)
    return absl::InvalidArgumentError(
        absl::StrCat("output '", path, "': ", std::strerror(errno)));
  std::string dir = directoryOf(path);
  if (::stat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode))
    return absl::NotFoundError(
        absl::StrCat("output '", path, "': directory '", dir, "' does not exist"));
  if (::access(dir.c_str(), W_OK) != 0)
    return absl::PermissionDeniedError(
        absl::StrCat("output '", path, "': directory '", dir, "' is not writable"));
  return absl::OkStatus();
}

std::string AtomicFile::directoryOf(const std::string &path) {
  size_t slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  return slash == 0 ? "/" : path.substr(0, slash);
}

absl::StatusOr<std::unique_ptr<AtomicFile>> AtomicFile::create(std::string path) {
  if (absl::Status status = checkTarget(path); !status.ok()) return status;
  // A fresh, unique name beside the target (mkostemp: O_CREAT | O_EXCL, so nothing planted
  // there — a symlink, another process's file — is ever opened or written through).
  size_t slash = path.rfind('/');
  std::string base = slash == std::string::npos ? path : path.substr(slash + 1);
  std::string dir = directoryOf(path);
  std::string tempPath = absl::StrCat(dir, "/.", base, ".tmp.XXXXXX");
  int fd = ::mkostemp(tempPath.data(), O_CLOEXEC);
  if (fd < 0)
    return absl::InternalError(
        absl::StrCat(path, ": cannot create a temporary file in ", dir, ": ", std::strerror(errno)));
  ::fchmod(fd, 0644);
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
  // The target may have changed while we wrote (a symlink planted, a device created).
  if (absl::Status status = checkTarget(finalPath); !status.ok()) return status;
  if (::rename(tempPath.c_str(), finalPath.c_str()) != 0)
    return ioError("cannot rename");
  committed = true;
  return absl::OkStatus();
}

} // namespace mvc
