//===- CpuFeatures.h - what the host CPU can run ---------------------------===//
//
// Artifacts record the CPU features their kernels were compiled for (manifest
// target.cpu_features, LLVM's names). Loading checks them against cpuid and the OS-enabled
// register state (xgetbv), so a CPU without them gets a message instead of SIGILL.
//
//===----------------------------------------------------------------------===//
#ifndef MVC_RUNTIME_HAL_CPU_CPUFEATURES_H
#define MVC_RUNTIME_HAL_CPU_CPUFEATURES_H

#include <set>
#include <string>
#include <vector>

#include "absl/status/status.h"

namespace mvc {

class CpuFeatures {
public:
  /// The features this process can use (cpuid and xgetbv, read once).
  static const CpuFeatures &host();
  /// A feature set for tests.
  explicit CpuFeatures(std::set<std::string> names) : present(std::move(names)) {}

  /// Every feature name the check understands, e.g. "avx512bf16", "amx-tile".
  static const std::vector<std::string> &knownNames();
  bool has(const std::string &name) const { return present.count(name) != 0; }
  const std::set<std::string> &names() const { return present; }

  /// OK if every name in `required` is known and present; otherwise one error listing them,
  /// e.g. "artifact needs CPU features [avx512bf16] that this CPU lacks". For AMX it also
  /// asks the kernel for permission to use the tile state (Linux arch_prctl).
  absl::Status check(const std::vector<std::string> &required) const;

private:
  std::set<std::string> present;
};

} // namespace mvc

#endif // MVC_RUNTIME_HAL_CPU_CPUFEATURES_H
