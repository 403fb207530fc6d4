//===- KernelLibrary.cpp --------------------------------------------------===//
#include "runtime/hal/cpu/KernelLibrary.h"

#include <algorithm>
#include <cstring>
#include <dlfcn.h>
#include <elf.h>
#include <sys/mman.h>
#include <unistd.h>

#include "absl/strings/str_cat.h"
#include "nlohmann/json.hpp"
#include "runtime/util/StatusMacros.h"

namespace mvc {

namespace {
constexpr int64_t kAbiVersion = 1;
constexpr char kInfoSymbol[] = "mvc_kernel_library_info";

/// Checks that `elf` is an x86-64 shared object whose headers and loadable segments lie
/// inside the bytes: dlopen maps segments past a truncated file and the process dies with
/// SIGBUS when it touches them.
absl::Status checkElf(absl::Span<const uint8_t> elf) {
  Elf64_Ehdr header;
  if (elf.size() < sizeof(header))
    return absl::InvalidArgumentError("not an ELF shared object (too short)");
  std::memcpy(&header, elf.data(), sizeof(header));
  if (std::memcmp(header.e_ident, ELFMAG, SELFMAG) != 0)
    return absl::InvalidArgumentError("not an ELF shared object");
  if (header.e_ident[EI_CLASS] != ELFCLASS64 || header.e_ident[EI_DATA] != ELFDATA2LSB ||
      header.e_machine != EM_X86_64 || header.e_type != ET_DYN)
    return absl::InvalidArgumentError("not an x86-64 ELF shared object");
  auto inside = [&](uint64_t offset, uint64_t size) {
    return offset <= elf.size() && size <= elf.size() - offset;
  };
  if (header.e_phentsize != sizeof(Elf64_Phdr) ||
      !inside(header.e_phoff, uint64_t{header.e_phnum} * sizeof(Elf64_Phdr)) ||
      (header.e_shnum != 0 &&
       !inside(header.e_shoff, uint64_t{header.e_shnum} * header.e_shentsize)))
    return absl::InvalidArgumentError("ELF headers lie outside the section (truncated?)");
  for (unsigned i = 0; i < header.e_phnum; ++i) {
    Elf64_Phdr segment;
    std::memcpy(&segment, elf.data() + header.e_phoff + i * sizeof(Elf64_Phdr), sizeof(segment));
    if (segment.p_type == PT_LOAD && !inside(segment.p_offset, segment.p_filesz))
      return absl::InvalidArgumentError(
          absl::StrCat("ELF segment ", i, " lies outside the section (truncated?)"));
  }
  return absl::OkStatus();
}
} // namespace

absl::StatusOr<std::unique_ptr<KernelLibrary>> KernelLibrary::load(absl::Span<const uint8_t> elf,
                                                                   const std::string &name,
                                                                   const std::string &section) {
  auto fail = [&](absl::string_view what) {
    return absl::FailedPreconditionError(absl::StrCat(name, ": ", section, ": ", what));
  };
  if (absl::Status status = checkElf(elf); !status.ok())
    return fail(status.message());
  int fd = memfd_create("mvc-kernels", MFD_CLOEXEC);
  if (fd < 0)
    return fail(absl::StrCat("memfd_create failed: ", std::strerror(errno)));
  for (size_t done = 0; done < elf.size();) {
    ssize_t n = ::write(fd, elf.data() + done, elf.size() - done);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0) {
      ::close(fd);
      return fail(absl::StrCat("cannot write the memfd: ", std::strerror(errno)));
    }
    done += static_cast<size_t>(n);
  }
  std::string procPath = absl::StrCat("/proc/self/fd/", fd);
  // RTLD_LOCAL: two loaded models never see each other's kernels.
  void *handle = dlopen(procPath.c_str(), RTLD_NOW | RTLD_LOCAL);
  ::close(fd); // the mapping keeps the memfd alive
  if (!handle)
    return fail(absl::StrCat("dlopen failed: ", dlerror()));
  std::unique_ptr<KernelLibrary> library(new KernelLibrary(handle, name, section));
  MVC_RETURN_IF_ERROR(library->readInfo());
  return library;
}

KernelLibrary::~KernelLibrary() { dlclose(handle); }

absl::Status KernelLibrary::readInfo() {
  auto fail = [&](absl::string_view what) {
    return absl::FailedPreconditionError(absl::StrCat(name, ": ", section, ": ", what));
  };
  auto info = reinterpret_cast<const char *(*)()>(dlsym(handle, kInfoSymbol));
  if (!info)
    return fail(absl::StrCat("does not export ", kInfoSymbol, "()"));
  const char *text = info();
  auto json = nlohmann::json::parse(text ? text : "", nullptr, /*allow_exceptions=*/false);
  if (!json.is_object() || !json.contains("abi") || !json["abi"].is_number_integer() ||
      !json.contains("kernels") || !json["kernels"].is_array())
    return fail(absl::StrCat(kInfoSymbol,
                             "() is not {\"abi\": N, \"kernels\": [...]}: ", text ? text : "null"));
  abi = json["abi"].get<int64_t>();
  if (abi != kAbiVersion)
    return fail(absl::StrCat("kernel ABI ", abi, ", this runtime implements ABI ", kAbiVersion));
  for (const auto &kernel : json["kernels"]) {
    if (!kernel.is_string())
      return fail(absl::StrCat(kInfoSymbol, "(): kernel names must be strings"));
    kernels.push_back(kernel.get<std::string>());
  }
  return absl::OkStatus();
}

absl::StatusOr<CpuKernelFn> KernelLibrary::lookup(const std::string &kernel) const {
  if (std::find(kernels.begin(), kernels.end(), kernel) == kernels.end())
    return absl::NotFoundError(
        absl::StrCat(section, ": kernel '", kernel, "' is not in its kernel list"));
  void *symbol = dlsym(handle, kernel.c_str());
  if (!symbol)
    return absl::NotFoundError(
        absl::StrCat(section, ": kernel '", kernel, "' is listed but not exported"));
  return reinterpret_cast<CpuKernelFn>(symbol);
}

void *KernelLibrary::symbol(const std::string &symbolName) const {
  return dlsym(handle, symbolName.c_str());
}

} // namespace mvc
