//===- Manifest.h - the typed manifest of a .mvc artifact -----------------===//
//
// parseManifest() turns the manifest JSON (FORMAT.md "Manifest") into these structs and
// validates every field and every cross-reference (buffer ids, weight and state names,
// symbols, live ranges), so the executor can trust them. Errors name the field path:
//   "manifest: programs[0].steps[3].bindings[1]: buffer 9 does not exist".
// Unknown keys are ignored, so a newer writer can add fields without breaking readers.
// writeManifest() (ManifestWriter.h) is the inverse.
//
//===----------------------------------------------------------------------===//
#ifndef MVC_RUNTIME_ARTIFACT_MANIFEST_H
#define MVC_RUNTIME_ARTIFACT_MANIFEST_H

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "nlohmann/json.hpp"
#include "runtime/artifact/Expr.h"
#include "runtime/util/DType.h"

namespace mvc {

/// One kernel build of a cuda artifact: a cubin for an SM, PTX for a virtual arch (the
/// JIT fallback), or the cuda-emu host library.
struct KernelVariant {
  std::string arch;    // "sm_80", "sm_90a", "compute_80"
  std::string format;  // "cubin", "ptx", "emu"
  std::string section; // e.g. "kernels.cuda.sm_80"
};

struct TargetInfo {
  std::string kind; // "cpu", "cuda", "cuda-emu"
  std::string cpu;  // e.g. "x86-64-v4"; may be empty
  std::vector<std::string> cpuFeatures;
  std::vector<KernelVariant> variants; // cuda only
};

struct WeightInfo {
  std::string name;
  DType dtype = DType::F32;
  std::vector<int64_t> shape;
  std::string layout; // "row_major", "packed_n16", "packed_n16_k2"
  uint64_t offset = 0; // in the weights section, 64-byte aligned
  uint64_t size = 0;
};

/// A tensor with a shape over symbols: states (over load symbols) and program inputs and
/// outputs (over program symbols and load symbols).
struct TensorInfo {
  std::string name;
  DType dtype = DType::F32;
  std::vector<Expr> shape;
  int64_t buffer = -1; // program inputs and outputs: the position in ProgramInfo::buffers of
                       // the buffer they live in (the JSON names its id)
};

enum class BufferKind { Input, Output, Weight, State, Transient };
absl::string_view bufferKindName(BufferKind kind);

struct BufferInfo {
  int64_t id = 0;
  BufferKind kind = BufferKind::Transient;
  int64_t index = -1;       // Input/Output: the program input/output; Weight/State: the
                            // manifest weight/state it refers to
  std::optional<Expr> size; // bytes; required for Transient, optional for Output (defaults
                            // to the output's shape), absent for the others
  int64_t first = 0;        // Transient: live range in step indices, inclusive
  int64_t last = 0;
};

enum class StepKind { Dispatch, Copy };

struct StepInfo {
  StepKind kind = StepKind::Dispatch;
  // Dispatch
  std::string kernel;
  std::string part;  // the model part of the step's root op ("ple"), or empty
  Expr workgroups;
  std::vector<int64_t> bindings; // buffer positions (indices into ProgramInfo::buffers)
  std::vector<Expr> push;
  std::array<int64_t, 3> block = {1, 1, 1}; // gpu: threads per workgroup (static)
  int64_t sharedBytes = 0;                  // gpu: dynamic shared memory per workgroup
  // Copy: bytes [srcOffset, srcOffset + size) of src to dst at dstOffset
  int64_t src = -1, dst = -1; // buffer positions
  Expr srcOffset, dstOffset, size;
};

struct ProgramInfo {
  std::string name;
  std::vector<std::string> symbols;
  std::vector<TensorInfo> inputs;
  std::vector<TensorInfo> outputs;
  std::vector<BufferInfo> buffers;
  std::vector<StepInfo> steps;
  /// Position in `buffers` of the buffer with a given id, or -1.
  int64_t bufferPosition(int64_t id) const;
};

struct Manifest {
  int64_t formatVersion = 1;
  std::string producer;
  std::string sourcePath, sourceKind;
  std::string architecture;
  nlohmann::ordered_json config;        // the architecture's typed config, as it wrote it
  nlohmann::ordered_json languageModel; // "language_model" (FORMAT.md), or null; read by
                                        // runtime/executor/LanguageModel.cpp
  TargetInfo target;
  std::vector<WeightInfo> weights;
  std::vector<TensorInfo> states;
  std::vector<std::pair<std::string, int64_t>> loadSymbols; // in manifest order
  std::vector<ProgramInfo> programs;

  const ProgramInfo *findProgram(absl::string_view name) const;
  /// Bytes one KV page takes in all the states together (each state is [num_pages, ...]:
  /// its dims after the first, which must be constants); 0 without states.
  uint64_t stateBytesPerPage() const;
};

/// Field-by-field equality (buffer references compare as the positions they hold).
bool operator==(const KernelVariant &a, const KernelVariant &b);
bool operator==(const TargetInfo &a, const TargetInfo &b);
bool operator==(const WeightInfo &a, const WeightInfo &b);
bool operator==(const TensorInfo &a, const TensorInfo &b);
bool operator==(const BufferInfo &a, const BufferInfo &b);
bool operator==(const StepInfo &a, const StepInfo &b);
bool operator==(const ProgramInfo &a, const ProgramInfo &b);
bool operator==(const Manifest &a, const Manifest &b);

/// Parses and validates the manifest JSON text.
absl::StatusOr<Manifest> parseManifest(absl::string_view text);

} // namespace mvc

#endif // MVC_RUNTIME_ARTIFACT_MANIFEST_H
