//===- GgufImport.h - a GGUF as the HF checkpoint it came from ----*- C++ -*-===//
//
// Each architecture that mvc imports from GGUF presents the file as the HF checkpoint
// llama.cpp's converter made it from: config.json and generation_config.json, HF tensor
// names, HF shapes and f32 values, and the vocabulary rebuilt as tokenizer.json and
// tokenizer_config.json. The compiler then sees one kind of input. importGguf() dispatches
// on the file's general.architecture, as HF checkpoints dispatch on config.json's
// "architectures". MLIR-free.
//
//===----------------------------------------------------------------------===//
#ifndef MVC_ARCHITECTURES_COMMON_GGUFIMPORT_H
#define MVC_ARCHITECTURES_COMMON_GGUFIMPORT_H

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "architectures/common/HfConfig.h"
#include "runtime/weights/Gguf.h"

namespace mvc {

class GgufImport {
public:
  virtual ~GgufImport() = default;
  /// config.json as HF writes it for the model class the file came from.
  virtual const OrderedJson &config() const = 0;
  /// generation_config.json (EOS ids and the like).
  virtual const OrderedJson &generationConfig() const = 0;
  virtual bool contains(const std::string &hfName) const = 0;
  /// The HF shape of an HF-named tensor.
  virtual absl::StatusOr<std::vector<int64_t>> shape(const std::string &hfName) const = 0;
  /// The f32 values of an HF-named tensor in HF layout, as the HF checkpoint holds them.
  virtual absl::StatusOr<std::vector<float>> readAsF32(const std::string &hfName) const = 0;
  /// Whether rows [begin, begin + count) of a tensor (dim 0 of its HF shape) can be read
  /// on their own, and those rows: what lets a compile stream a large tensor in chunks.
  virtual bool readsRows(const std::string &hfName) const { return false; }
  virtual absl::StatusOr<std::vector<float>> readRowsAsF32(const std::string &hfName,
                                                           int64_t begin, int64_t count) const {
    return absl::UnimplementedError("row reads of '" + hfName + "'");
  }

  /// A tensor's ggml blocks as the file stores them, rows in HF order: what `--dtype keep`
  /// packs without dequantizing.
  struct Blocks {
    GgmlType type;
    std::string bytes;
  };
  /// The tensor's blocks; nullopt when the import changes its values (only readAsF32
  /// gives them then).
  virtual absl::StatusOr<std::optional<Blocks>> readBlocks(const std::string &hfName) const {
    return std::nullopt;
  }
  /// The ggml type readBlocks would return, without reading the tensor.
  virtual std::optional<GgmlType> blockType(const std::string &hfName) const {
    return std::nullopt;
  }

  struct Tokenizer {
    std::string tokenizerJson; // HF tokenizer.json
    OrderedJson config;        // tokenizer_config.json (chat template, special tokens)
  };
  /// The file's vocabulary as HF tokenizer files; nullopt when it has none.
  virtual absl::StatusOr<std::optional<Tokenizer>> tokenizer() const = 0;
};

/// A per-layer tensor: GGUF blk.N.<gguf>.weight is HF model.layers.N.<hf>.weight.
struct GgufLayerTensor {
  const char *gguf, *hf;
};

/// A GgufImport whose tensors are a table from HF names to the file's tensors.
class MappedGgufImport : public GgufImport {
public:
  bool contains(const std::string &hfName) const override { return names.count(hfName) != 0; }
  absl::StatusOr<std::vector<int64_t>> shape(const std::string &hfName) const override;
  /// Rows straight from the file (a 2-D tensor's GGUF rows are its HF rows); imports that
  /// transform a tensor's values override these for it.
  bool readsRows(const std::string &hfName) const override;
  absl::StatusOr<std::vector<float>> readRowsAsF32(const std::string &hfName, int64_t begin,
                                                   int64_t count) const override;
  /// The file's bytes (a 2-D tensor's GGUF rows are its HF rows); imports that transform
  /// a tensor override these for it.
  absl::StatusOr<std::optional<Blocks>> readBlocks(const std::string &hfName) const override;
  std::optional<GgmlType> blockType(const std::string &hfName) const override;
  /// HF tensor name -> GGUF tensor name, for every tensor of the file.
  const std::map<std::string, std::string> &hfToGguf() const { return names; }

protected:
  explicit MappedGgufImport(const GgufReader &reader) : reader(&reader) {}
  /// The file's tensor for an HF name; NotFound naming the file otherwise.
  absl::StatusOr<const GgufTensor *> find(const std::string &hfName) const;
  /// Checks that every one of `layers` layers has each tensor of `layerTensors`, that
  /// output_norm is there, and that `names` holds nothing else (but token_embd and an
  /// optional output); `blockCountKey` names the metadata key in the error.
  absl::Status checkLayers(uint64_t layers, absl::Span<const GgufLayerTensor> layerTensors,
                           absl::string_view blockCountKey) const;

  const GgufReader *reader;
  std::map<std::string, std::string> names;
};

/// The HF name of a GGUF tensor as llama.cpp's converter names them: token_embd,
/// output_norm, output, and blk.N.<name> for the entries of `layerTensors`; empty when the
/// name is none of these.
std::string ggufTensorHfName(const std::string &ggufName,
                             absl::Span<const GgufLayerTensor> layerTensors);

/// The shortest decimal that reads back as the same float (1e-06, not 9.99999997e-07), as
/// a double: a config.json derived from GGUF metadata then says what the model card says.
double shortestDecimal(float value);

/// The import for the file's general.architecture; `reader` must outlive it. An
/// architecture mvc does not import is refused naming it and the ones it does.
absl::StatusOr<std::unique_ptr<GgufImport>> importGguf(const GgufReader &reader);

} // namespace mvc

#endif // MVC_ARCHITECTURES_COMMON_GGUFIMPORT_H
