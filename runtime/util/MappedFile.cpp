//===- MappedFile.cpp - a read-only memory-mapped file --------------------===//
#include "runtime/util/MappedFile.h"

#include <atomic>
#include <cerrno>
#include <csignal>
#include <mutex>
#include <cstring>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "absl/strings/str_cat.h"

namespace mvc {

namespace {

/// The mappings a SIGBUS may come from: a file truncated (or rewritten in place) while
/// mapped makes the next access to a page past its end fault. The handler only reads this
/// table (async-signal-safe): it names the file and exits; other SIGBUSes go to the
/// default action.
struct MappedRange {
  std::atomic<uintptr_t> begin{0}, end{0};
  char path[256] = {};
};
constexpr int kMaxMappedRanges = 64;
MappedRange mappedRanges[kMaxMappedRanges];
std::mutex registryMutex;

void writeAll(const char *text) {
  size_t n = std::strlen(text);
  while (n > 0) {
    ssize_t w = ::write(STDERR_FILENO, text, n);
    if (w <= 0) return;
    text += w;
    n -= size_t(w);
  }
}

void onSigbus(int signal, siginfo_t *info, void *) {
  uintptr_t address = reinterpret_cast<uintptr_t>(info->si_addr);
  for (MappedRange &r : mappedRanges) {
    if (address >= r.begin.load() && address < r.end.load()) {
      writeAll("mvc: error: '");
      writeAll(r.path);
      writeAll("' changed on disk while in use (truncated or rewritten in place); replace "
               "files that may be in use by renaming a new file over them\n");
      ::_exit(1);
    }
  }
  ::signal(signal, SIG_DFL);
  ::raise(signal);
}

void registerRange(const uint8_t *base, size_t size, const std::string &path) {
  static bool installed = [] {
    struct sigaction action;
    std::memset(&action, 0, sizeof action);
    action.sa_sigaction = onSigbus;
    action.sa_flags = SA_SIGINFO;
    sigemptyset(&action.sa_mask);
    ::sigaction(SIGBUS, &action, nullptr);
    return true;
  }();
  (void)installed;
  std::lock_guard<std::mutex> lock(registryMutex);
  for (MappedRange &r : mappedRanges)
    if (r.end.load() == 0) {
      std::strncpy(r.path, path.c_str(), sizeof r.path - 1);
      r.begin = reinterpret_cast<uintptr_t>(base);
      r.end = reinterpret_cast<uintptr_t>(base) + size;
      return;
    }
  // More than kMaxMappedRanges files mapped at once: this one faults without a name.
}

void unregisterRange(const uint8_t *base) {
  std::lock_guard<std::mutex> lock(registryMutex);
  for (MappedRange &r : mappedRanges)
    if (r.begin.load() == reinterpret_cast<uintptr_t>(base) && r.end.load() != 0) {
      r.end = 0;
      r.begin = 0;
      return;
    }
}

} // namespace

absl::StatusOr<std::unique_ptr<MappedFile>> MappedFile::open(const std::string &path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return absl::NotFoundError(absl::StrCat(path, ": cannot open: ", std::strerror(errno)));
  struct stat info;
  if (::fstat(fd, &info) != 0 || !S_ISREG(info.st_mode)) {
    ::close(fd);
    return absl::InvalidArgumentError(path + ": not a regular file");
  }
  size_t size = static_cast<size_t>(info.st_size);
  const uint8_t *base = nullptr;
  if (size > 0) {
    void *mapped = ::mmap(nullptr, size, PROT_READ, MAP_PRIVATE, fd, 0);
    if (mapped == MAP_FAILED) {
      int error = errno;
      ::close(fd);
      return absl::InternalError(absl::StrCat(path, ": cannot mmap: ", std::strerror(error)));
    }
    base = static_cast<const uint8_t *>(mapped);
    registerRange(base, size, path);
  }
  ::close(fd);
  return std::unique_ptr<MappedFile>(new MappedFile(path, base, size));
}

MappedFile::~MappedFile() {
  if (base) {
    unregisterRange(base);
    ::munmap(const_cast<uint8_t *>(base), length);
  }
}

void MappedFile::release(const void *p, size_t n) {
  static const uintptr_t page = uintptr_t(::sysconf(_SC_PAGESIZE));
  uintptr_t begin = (reinterpret_cast<uintptr_t>(p) + page - 1) / page * page;
  uintptr_t end = (reinterpret_cast<uintptr_t>(p) + n) / page * page;
  // Advice only: a failure leaves the pages resident, which is still correct.
  if (end > begin) ::madvise(reinterpret_cast<void *>(begin), end - begin, MADV_DONTNEED);
}

} // namespace mvc
