//===- Files.cpp - reading input files safely ---------------------------===//
#include "runtime/util/Files.h"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "absl/strings/str_cat.h"

namespace mvc {

absl::StatusOr<std::string> readInputFile(const std::string &path, absl::string_view what,
                                          uint64_t maxBytes) {
  // O_NONBLOCK: opening a FIFO for reading would otherwise wait for a writer.
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0)
    return absl::NotFoundError(
        absl::StrCat(what, " '", path, "': cannot open: ", std::strerror(errno)));
  struct Closer {
    int fd;
    ~Closer() { ::close(fd); }
  } closer{fd};
  struct stat st;
  if (::fstat(fd, &st) != 0)
    return absl::NotFoundError(
        absl::StrCat(what, " '", path, "': cannot stat: ", std::strerror(errno)));
  if (S_ISDIR(st.st_mode))
    return absl::InvalidArgumentError(absl::StrCat(what, " '", path, "' is a directory, not a file"));
  if (!S_ISREG(st.st_mode))
    return absl::InvalidArgumentError(
        absl::StrCat(what, " '", path, "' is not a regular file (a device, FIFO or socket)"));
  uint64_t size = uint64_t(st.st_size);
  if (size > maxBytes)
    return absl::InvalidArgumentError(absl::StrCat(what, " '", path, "' is ", size,
                                                   " bytes, more than the ", maxBytes,
                                                   " it may have"));
  std::string bytes(size, '\0');
  uint64_t done = 0;
  while (done < size) {
    ssize_t n = ::read(fd, bytes.data() + done, size - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0)
      return absl::UnavailableError(
          absl::StrCat(what, " '", path, "': read failed: ", std::strerror(errno)));
    if (n == 0) break; // truncated while reading: what is there is what it holds
    done += uint64_t(n);
  }
  bytes.resize(done);
  return bytes;
}

} // namespace mvc
