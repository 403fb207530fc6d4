//===- Targets.h - the --target list of mvc-compile ---------------*- C++ -*-===//
//
// `--target` is a comma list. `cpu` is one family; `cuda:sm_80`, `cuda:sm_90a`,
// `cuda-emu[:sm_80|:sm_90a]` are the gpu family. An artifact holds one family: every gpu
// variant shares one schedule and one weight layout, so they are compiled together.
//
//===----------------------------------------------------------------------===//
#ifndef MVC_COMPILER_PIPELINES_TARGETS_H
#define MVC_COMPILER_PIPELINES_TARGETS_H

#include "absl/status/statusor.h"

#include <optional>
#include <string>
#include <vector>

namespace mvc {

struct TargetSet {
  bool gpu = false;                   // false: the cpu family
  std::vector<std::string> cudaArchs; // one cubin each ("sm_80", "sm_90a"), in request order
  std::vector<std::string> emuArchs;  // one host library each ("sm_80", "sm_90a")
  /// The virtual architecture of the PTX kept as the JIT fallback: compute_80 when any
  /// sm_8x is requested, else compute_90 (never the arch-specific sm_90a). Empty when no
  /// cuda:* target is requested.
  std::string ptxArch() const;
};

/// Parses a --target list; errors name the bad entry and the accepted ones.
absl::StatusOr<TargetSet> parseTargets(const std::string &list);

} // namespace mvc

#endif
