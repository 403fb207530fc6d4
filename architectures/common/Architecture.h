//===- Architecture.h - what an architecture gives the compiler ---*- C++ -*-===//
//
// An architecture turns a Hugging Face config (and the names in its checkpoint) into
// graph programs, a typed config echoed into the manifest and, for language models, the
// manifest's `language_model` entry. The registry maps config.json's "architectures"
// names to them.
//
//===----------------------------------------------------------------------===//
#ifndef MVC_ARCHITECTURES_COMMON_ARCHITECTURE_H
#define MVC_ARCHITECTURES_COMMON_ARCHITECTURE_H

#include "architectures/common/HfConfig.h"
#include "compiler/Builder/GraphBuilder.h"

#include <functional>
#include <optional>
#include <vector>

namespace mvc {

/// Canonical weight name (e.g. "model.layers.0.mlp.up_proj.weight") → checkpoint name.
using WeightNames = std::function<std::string(const std::string &)>;

struct ArchitectureOptions {
  mlir::Type weightType;  // f32 or bf16: matmul weights and embedding tables
  mlir::Type kvType;      // KV cache element type
  int64_t pageSize = 16;  // tokens per KV page
  /// Each MoE layer's routing as extra outputs of the forward program (moe.<layer>.slots
  /// [T, k] and moe.<layer>.groups [E + 1], mvc.moe_route's): for checks against a
  /// reference's chosen experts (mvc-run --dump-outputs).
  bool exposeRouting = false;
};

struct ArchitectureInput {
  OrderedJson config;
  OrderedJson generationConfig;        // empty object when absent
  std::string configPath;
  std::function<bool(const std::string &)> hasWeight;  // names in the checkpoint
  /// A checkpoint tensor's shape (nullopt when absent or without a checkpoint), for
  /// architectures that accept more than one layout of a tensor.
  std::function<std::optional<std::vector<int64_t>>(const std::string &)> weightShape;
  ArchitectureOptions options;
  /// preprocessor_config.json beside config.json (empty when absent): an architecture that
  /// takes images checks it against its vision program; the artifact then carries it for
  /// the run half's image processor.
  std::string processorConfig, processorConfigPath;
  /// video_preprocessor_config.json beside config.json (empty when absent), the same way
  /// for an architecture that takes videos.
  std::string videoProcessorConfig, videoProcessorConfigPath;
};

struct ArchitectureBuild {
  OrderedJson config;                  // the typed config, for the manifest
  OrderedJson languageModel;           // the manifest's language_model entry
  /// What the architecture left out of the checkpoint, for the user (mvc-compile prints
  /// each as a note on stderr), e.g. Gemma 4's audio tower.
  std::vector<std::string> notes;
};

using ArchitectureCompiler =
    std::function<absl::StatusOr<ArchitectureBuild>(const ArchitectureInput &, GraphBuilder &)>;

/// The compiler for an HF "architectures" name, or NotFound listing the supported ones.
absl::StatusOr<ArchitectureCompiler> findArchitecture(const std::string &hfName);

/// bf16 rounding (nearest even) of a compile-time constant.
float roundToBf16(float value);

/// A compile-time scale as a model multiplies it into a tensor of the weight dtype (Gemma's
/// embedding scales: an f32 buffer cast to the table's dtype, so bf16(√H) for bf16 weights).
inline float inWeightType(double value, const ArchitectureOptions &o) {
  return o.weightType.isBF16() ? roundToBf16(float(value)) : float(value);
}

} // namespace mvc

#endif
