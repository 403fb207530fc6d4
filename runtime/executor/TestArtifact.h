//===- TestArtifact.h - small artifacts for runtime tests, no compiler -----===//
//
// A manifest over the hand-written kernels of runtime/hal/cpu/TestKernels.c, written with
// ArtifactWriter. Programs:
//   main(x f32 [T, 8]) -> y f32 [T, 8]: t0 = 2x + w; t1 = 2 t0 + w; t2 = t0 + t1; copy t2
//       to y, so y = 6x + 4w; three transients live together at step 2.
//   accumulate(x f32 [N]) -> y f32 [N]: acc[i] += x[i]; y = acc (state "acc", "slots" long).
//   pair(a f32 [T], b f32 [T]) -> c f32 [T]: c = a + b.
//   workgroups(x u8 [N]) -> ids i64 [N]: ids[i] = i * 1000 + N.
//
//===----------------------------------------------------------------------===//
#ifndef MVC_RUNTIME_EXECUTOR_TESTARTIFACT_H
#define MVC_RUNTIME_EXECUTOR_TESTARTIFACT_H

#include <string>

#include "absl/status/status.h"
#include "nlohmann/json.hpp"

namespace mvc::testing {

/// The weight w of the test artifact: w[c] = c + 1.
inline float testWeight(int c) { return static_cast<float>(c + 1); }

/// The manifest described above, for tests to modify before writing.
nlohmann::ordered_json testManifest();

/// Writes an artifact with `manifest`, the test kernels (from `kernelsPath`, as section
/// `kernelsSection`) and w.
absl::Status writeTestArtifact(const std::string &path, const nlohmann::ordered_json &manifest,
                               const std::string &kernelsPath,
                               const std::string &kernelsSection = "kernels.cpu");

/// The manifest for the cuda-emu kernels of runtime/hal/emu/TestEmuKernels.c: target cuda
/// with one emu variant in section "kernels.cuda-emu.sm_80", every dispatch 32 threads.
nlohmann::ordered_json testEmuManifest();

} // namespace mvc::testing

#endif // MVC_RUNTIME_EXECUTOR_TESTARTIFACT_H
