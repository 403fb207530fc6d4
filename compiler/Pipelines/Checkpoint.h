//===- Checkpoint.h - model checkpoints as mvc graphs and weights -*- C++ -*-===//
//
// The front of mvc-compile for real models: an HF checkpoint directory (config.json,
// *.safetensors, tokenizer files) or a GGUF file becomes the architecture's programs, a
// source of f32 weight values by HF name, the manifest's architecture/config and
// language_model entries, and the extra sections (tokenizer) of the artifact.
//
//===----------------------------------------------------------------------===//
#ifndef MVC_COMPILER_PIPELINES_CHECKPOINT_H
#define MVC_COMPILER_PIPELINES_CHECKPOINT_H

#include "compiler/Pipelines/Compile.h"

#include "absl/status/statusor.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/OwningOpRef.h"
#include <nlohmann/json.hpp>

#include <memory>
#include <vector>

namespace mvc {

/// The tensors of a checkpoint by HF name.
class CheckpointSource {
public:
  virtual ~CheckpointSource() = default;
  virtual std::string path() const = 0;
  virtual bool contains(const std::string &name) const = 0;
  virtual absl::StatusOr<std::vector<int64_t>> shape(const std::string &name) const = 0;
  virtual absl::StatusOr<std::vector<float>> readAsF32(const std::string &name) const = 0;
  /// Rows [begin, begin + count) of the tensor (dim 0), when readsRows(): weights then
  /// stream into the artifact in bounded chunks instead of a whole tensor at a time.
  virtual bool readsRows(const std::string &name) const { return false; }
  virtual absl::StatusOr<std::vector<float>> readRowsAsF32(const std::string &name, int64_t begin,
                                                           int64_t count) const {
    return absl::UnimplementedError("row reads of '" + name + "'");
  }
  /// The block format the file stores the tensor in ("q8_0", "q4_k", ... as ggml names
  /// them, lower case), for sources that have them (GGUF) and tensors whose values reach
  /// the model unchanged; nullopt otherwise.
  virtual std::optional<std::string> blockFormat(const std::string &name) const {
    return std::nullopt;
  }
  /// Those blocks, rows in the HF layout (blockFormat's tensors only).
  virtual absl::StatusOr<std::string> readBlocks(const std::string &name) const {
    return absl::UnimplementedError("block reads of '" + name + "'");
  }
};

struct CheckpointBuild {
  mlir::OwningOpRef<mlir::ModuleOp> module;
  std::unique_ptr<CheckpointSource> weights;  // null for a config-only (--random-weights) build
  std::string sourceKind;                     // "hf" or "gguf"
  std::string architecture;                   // HF class name
  nlohmann::ordered_json config;              // the architecture's typed config
  nlohmann::ordered_json languageModel;       // the manifest's language_model entry
  std::vector<std::string> notes;             // the architecture's (ArchitectureBuild::notes)
  std::vector<std::pair<std::string, std::string>> sections;  // name, bytes
};

/// True for inputs this front handles (a directory or a .gguf file).
bool isCheckpointInput(const std::string &input);

absl::StatusOr<CheckpointBuild> buildFromCheckpoint(const CompileOptions &options,
                                                    mlir::MLIRContext &context);

} // namespace mvc

#endif
