//===- LlamaGguf.h - a llama GGUF as an HF LlamaForCausalLM checkpoint -*- C++ -*-===//
//
// Presents a GGUF of architecture `llama` (llama.cpp's convert_hf_to_gguf: SmolLM2, Llama
// 2/3) as the HF checkpoint it came from:
//   - the converter permutes the rows of q_proj and k_proj within each head (HF's
//     rotate-half RoPE pairs (i, i + D/2); llama.cpp's interleaved pairs (2i, 2i + 1)):
//     GGUF row h·D + 2i + j holds HF row h·D + j·D/2 + i, and readAsF32 undoes it;
//   - dims are innermost first (HF [out, in] is GGUF {in, out}, same bytes); norms are
//     stored as they are (Llama multiplies by w);
//   - config.json comes from the llama.* metadata (no rope_freqs.weight: llama3 frequency
//     factors are refused), generation_config.json's EOS from the tokenizer's;
//   - the vocabulary ("gpt2" byte-level BPE) becomes tokenizer.json (GgufBpeTokenizer.h).
// MLIR-free.
//
//===----------------------------------------------------------------------===//
#ifndef MVC_ARCHITECTURES_LLAMA_LLAMAGGUF_H
#define MVC_ARCHITECTURES_LLAMA_LLAMAGGUF_H

#include <map>

#include "architectures/common/GgufImport.h"

namespace mvc {

class LlamaGgufImport : public MappedGgufImport {
public:
  /// Checks the architecture, the tensors (every one mapped, every layer complete) and
  /// derives the config. `reader` must outlive the result.
  static absl::StatusOr<LlamaGgufImport> fromGguf(const GgufReader &reader);

  const OrderedJson &config() const override { return configJson; }
  const OrderedJson &generationConfig() const override { return generationJson; }
  absl::StatusOr<std::vector<float>> readAsF32(const std::string &hfName) const override;
  /// Not q/k projections, whose rows readAsF32 reorders.
  bool readsRows(const std::string &hfName) const override;
  /// q/k projections' block rows reordered as readAsF32 reorders their values.
  absl::StatusOr<std::optional<Blocks>> readBlocks(const std::string &hfName) const override;
  absl::StatusOr<std::optional<Tokenizer>> tokenizer() const override;

private:
  explicit LlamaGgufImport(const GgufReader &reader) : MappedGgufImport(reader) {}

  OrderedJson configJson, generationJson;
  int64_t numHeads = 0, numKvHeads = 0;
};

/// The HF name of a llama GGUF tensor; empty when it has none.
std::string llamaHfName(const std::string &ggufName);

} // namespace mvc

#endif
