//===- KernelLibrary.h - the kernels.cpu shared object, loaded from memory ---===//
//
// The artifact carries its kernels as an ELF shared object. load() copies the bytes into an
// anonymous memfd and dlopens /proc/self/fd/N, so nothing is written to disk, then reads
// mvc_kernel_library_info() (FORMAT.md "Kernel ABI").
//
//===----------------------------------------------------------------------===//
#ifndef MVC_RUNTIME_HAL_CPU_KERNELLIBRARY_H
#define MVC_RUNTIME_HAL_CPU_KERNELLIBRARY_H

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"

namespace mvc {

/// void NAME(void *const *bindings, const int64_t *push, int64_t workgroup_id,
///           int64_t workgroup_count)
using CpuKernelFn = void (*)(void *const *, const int64_t *, int64_t, int64_t);

class KernelLibrary {
public:
  /// Loads an ELF shared object from bytes; `name` (artifact path) and `section` prefix
  /// errors.
  static absl::StatusOr<std::unique_ptr<KernelLibrary>> load(absl::Span<const uint8_t> elf,
                                                             const std::string &name,
                                                             const std::string &section = "kernels.cpu");
  ~KernelLibrary();
  KernelLibrary(const KernelLibrary &) = delete;
  KernelLibrary &operator=(const KernelLibrary &) = delete;

  /// The kernel `kernel`: listed in the library info and exported. Errors start with
  /// "kernels.cpu:"; the caller says which artifact and step asked.
  absl::StatusOr<CpuKernelFn> lookup(const std::string &kernel) const;
  /// Any exported symbol (null if absent), for libraries with more than kernels (cuda-emu).
  void *symbol(const std::string &name) const;
  int64_t abiVersion() const { return abi; }
  const std::vector<std::string> &kernelNames() const { return kernels; }

private:
  KernelLibrary(void *handle, std::string name, std::string section)
      : handle(handle), name(std::move(name)), section(std::move(section)) {}
  absl::Status readInfo();

  void *handle;
  std::string name;
  std::string section;
  int64_t abi = 0;
  std::vector<std::string> kernels;
};

} // namespace mvc

#endif // MVC_RUNTIME_HAL_CPU_KERNELLIBRARY_H
