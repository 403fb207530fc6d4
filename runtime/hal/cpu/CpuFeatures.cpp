//===- CpuFeatures.cpp ----------------------------------------------------===//
#include "runtime/hal/cpu/CpuFeatures.h"

#include <cpuid.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace mvc {

namespace {

/// Where cpuid reports a feature: leaf, subleaf, register (0 eax .. 3 edx), bit.
struct CpuidBit {
  const char *name;
  unsigned leaf, subleaf, reg, bit;
  enum State { Avx, Avx512, Amx } state; // register state the OS must enable
};
constexpr CpuidBit kBits[] = {
    {"avx2", 7, 0, 1, 5, CpuidBit::Avx},
    {"fma", 1, 0, 2, 12, CpuidBit::Avx},
    {"f16c", 1, 0, 2, 29, CpuidBit::Avx},
    {"avx512f", 7, 0, 1, 16, CpuidBit::Avx512},
    {"avx512dq", 7, 0, 1, 17, CpuidBit::Avx512},
    {"avx512bw", 7, 0, 1, 30, CpuidBit::Avx512},
    {"avx512vl", 7, 0, 1, 31, CpuidBit::Avx512},
    {"avx512vnni", 7, 0, 2, 11, CpuidBit::Avx512},
    {"avx512vbmi", 7, 0, 2, 1, CpuidBit::Avx512},
    {"avx512bf16", 7, 1, 0, 5, CpuidBit::Avx512},
    {"amx-bf16", 7, 0, 3, 22, CpuidBit::Amx},
    {"amx-tile", 7, 0, 3, 24, CpuidBit::Amx},
    {"amx-int8", 7, 0, 3, 25, CpuidBit::Amx},
};

uint64_t readXcr0() {
  uint32_t eax, edx;
  __asm__ volatile("xgetbv" : "=a"(eax), "=d"(edx) : "c"(0));
  return (uint64_t{edx} << 32) | eax;
}

std::set<std::string> detect() {
  std::set<std::string> found;
  unsigned regs[4];
  if (!__get_cpuid(1, &regs[0], &regs[1], &regs[2], &regs[3]))
    return found;
  bool osxsave = regs[2] & (1u << 27);
  uint64_t xcr0 = osxsave ? readXcr0() : 0;
  // XMM|YMM state; plus opmask|ZMM_Hi256|Hi16_ZMM; plus XTILECFG|XTILEDATA.
  bool avxState = (xcr0 & 0x6) == 0x6;
  bool avx512State = avxState && (xcr0 & 0xE0) == 0xE0;
  bool amxState = (xcr0 & 0x60000) == 0x60000;
  for (const CpuidBit &bit : kBits) {
    if (!__get_cpuid_count(bit.leaf, bit.subleaf, &regs[0], &regs[1], &regs[2], &regs[3]))
      continue;
    bool stateOk = bit.state == CpuidBit::Avx      ? avxState
                   : bit.state == CpuidBit::Avx512 ? avx512State
                                                   : amxState;
    if (stateOk && (regs[bit.reg] & (1u << bit.bit)))
      found.insert(bit.name);
  }
  return found;
}

/// Linux keeps AMX tile data disabled until a process asks (ARCH_REQ_XCOMP_PERM).
absl::Status requestAmxPermission() {
  constexpr int kArchReqXcompPerm = 0x1023;
  constexpr int kXfeatureXtiledata = 18;
  if (syscall(SYS_arch_prctl, kArchReqXcompPerm, kXfeatureXtiledata) != 0)
    return absl::FailedPreconditionError(
        "artifact uses AMX but the kernel refused access to the AMX tile state");
  return absl::OkStatus();
}

} // namespace

const CpuFeatures &CpuFeatures::host() {
  static const CpuFeatures features(detect());
  return features;
}

const std::vector<std::string> &CpuFeatures::knownNames() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> list;
    for (const CpuidBit &bit : kBits)
      list.push_back(bit.name);
    return list;
  }();
  return names;
}

absl::Status CpuFeatures::check(const std::vector<std::string> &required) const {
  std::vector<std::string> unknown, missing;
  bool amx = false;
  for (const std::string &name : required) {
    const auto &known = knownNames();
    if (std::find(known.begin(), known.end(), name) == known.end())
      unknown.push_back(name);
    else if (!has(name))
      missing.push_back(name);
    amx |= name.rfind("amx-", 0) == 0;
  }
  if (!unknown.empty())
    return absl::FailedPreconditionError(
        absl::StrCat("artifact needs CPU features [", absl::StrJoin(unknown, ", "),
                     "] that this runtime does not know (known: ",
                     absl::StrJoin(knownNames(), ", "), ")"));
  if (!missing.empty())
    return absl::FailedPreconditionError(absl::StrCat(
        "artifact needs CPU features [", absl::StrJoin(missing, ", "),
        "] that this CPU lacks (it has: ", absl::StrJoin(present, ", "), ")"));
  if (amx && this == &host())
    return requestAmxPermission();
  return absl::OkStatus();
}

} // namespace mvc
