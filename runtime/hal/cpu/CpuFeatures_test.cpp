#include "runtime/hal/cpu/CpuFeatures.h"

#include <fstream>
#include <sstream>

#include "gtest/gtest.h"

namespace mvc {
namespace {

TEST(CpuFeatures, MissingFeaturesAreListed) {
  CpuFeatures cpu({"avx2", "fma"});
  EXPECT_TRUE(cpu.check({"avx2", "fma"}).ok());
  EXPECT_TRUE(cpu.check({}).ok());
  absl::Status status = cpu.check({"avx2", "avx512bf16", "avx512f"});
  EXPECT_EQ(status.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(status.message().find(
                "artifact needs CPU features [avx512bf16, avx512f] that this CPU lacks"),
            std::string::npos)
      << status;
}

TEST(CpuFeatures, UnknownNamesAreRefused) {
  absl::Status status = CpuFeatures({"avx2"}).check({"avx2", "sse9"});
  EXPECT_NE(status.message().find("[sse9] that this runtime does not know"), std::string::npos)
      << status;
}

// The host detection agrees with the kernel's view in /proc/cpuinfo.
TEST(CpuFeatures, HostMatchesProcCpuinfo) {
  std::ifstream in("/proc/cpuinfo");
  std::string line, flags;
  while (std::getline(in, line))
    if (line.rfind("flags", 0) == 0) {
      flags = " " + line.substr(line.find(':') + 1) + " ";
      break;
    }
  if (flags.empty())
    GTEST_SKIP() << "no /proc/cpuinfo flags line";
  const std::pair<const char *, const char *> names[] = {
      {"avx2", "avx2"},           {"fma", "fma"},           {"f16c", "f16c"},
      {"avx512f", "avx512f"},     {"avx512bw", "avx512bw"}, {"avx512vl", "avx512vl"},
      {"avx512dq", "avx512dq"},   {"avx512bf16", "avx512_bf16"},
      {"avx512vnni", "avx512_vnni"}, {"avx512vbmi", "avx512vbmi"}, {"amx-tile", "amx_tile"}};
  for (auto [ours, kernelName] : names)
    EXPECT_EQ(CpuFeatures::host().has(ours),
              flags.find(std::string(" ") + kernelName + " ") != std::string::npos)
        << ours;
}

} // namespace
} // namespace mvc
