//===- Targets.cpp - the --target list of mvc-compile ---------------------===//
#include "compiler/Pipelines/Targets.h"

#include <algorithm>

namespace mvc {

static const char *kAccepted =
    "cpu, cuda:sm_80, cuda:sm_90a, cuda-emu, cuda-emu:sm_80, cuda-emu:sm_90a";

std::string TargetSet::ptxArch() const {
  if (cudaArchs.empty()) return "";
  for (const std::string &a : cudaArchs)
    if (a.rfind("sm_8", 0) == 0) return "compute_80";
  return "compute_90";
}

absl::StatusOr<TargetSet> parseTargets(const std::string &list) {
  TargetSet set;
  bool cpu = false;
  auto addOnce = [](std::vector<std::string> &v, const std::string &arch) {
    if (std::find(v.begin(), v.end(), arch) == v.end()) v.push_back(arch);
  };
  size_t start = 0;
  while (true) {
    size_t comma = list.find(',', start);
    std::string t = list.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    if (t.empty()) {
      return absl::InvalidArgumentError("--target '" + list + "' has an empty entry (expected a comma list of " +
              kAccepted + ")");
    }
    if (t == "cpu") {
      cpu = true;
    } else if (t == "cuda:sm_80" || t == "cuda:sm_90a") {
      addOnce(set.cudaArchs, t.substr(5));
    } else if (t == "cuda-emu" || t == "cuda-emu:sm_80" || t == "cuda-emu:sm_90a") {
      addOnce(set.emuArchs, t == "cuda-emu" ? "sm_80" : t.substr(9));
    } else {
      return absl::InvalidArgumentError("unknown target '" + t + "' (expected " + kAccepted + ")");
    }
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  set.gpu = !set.cudaArchs.empty() || !set.emuArchs.empty();
  if (cpu && set.gpu) {
    return absl::InvalidArgumentError("--target '" + list + "': compile cpu and cuda targets into separate artifacts");
  }
  return set;
}

} // namespace mvc
