//===- Gemma3Gguf.h - a gemma3 GGUF as an HF Gemma 3 checkpoint ---*- C++ -*-===//
//
// Presents a GGUF of architecture `gemma3` (llama.cpp's convert_hf_to_gguf) as the HF
// checkpoint it came from, so the rest of mvc sees one kind of input: an HF-style
// config.json for parseGemma3TextConfig, HF tensor names, HF shapes and f32 values.
//
// What the converter changed, and how each was established on the real Gemma 3 270M GGUF
// (tests/fixtures/gguf_to_hf.py --verify-mapping and --compare-hf-loader):
//   - RMSNorm weights are stored as 1 + w (Gemma scales by 1 + w): every norm value minus 1
//     is exactly a bf16 number (55936 of 55936; the stored values: 41747), and the
//     next-token loss on English text is 2.97 with the 1 taken out, 19.2 without.
//   - Q/K are not permuted (Gemma uses rotate-half RoPE, as llama.cpp's NEOX mode): the
//     llama permutation raises the loss to 8.1.
//   - Dims are innermost first: HF [out, in] is GGUF {in, out}, same bytes; the embedding
//     is not scaled (sqrt(hidden) is applied at run time, as in HF).
//   - Metadata the GGUF does not hold takes llama.cpp's fixed Gemma 3 values: layers slide
//     unless (i + 1) % 6 == 0, the sliding layers' RoPE theta is 10000 (unless
//     `gemma3.rope.freq_base_swa` says otherwise), query_pre_attn_scalar is head_dim (27B:
//     hidden / heads).
// transformers' own GGUF loader gives logits identical (max difference 0) to this mapping.
// MLIR-free.
//
//===----------------------------------------------------------------------===//
#ifndef MVC_ARCHITECTURES_GEMMA3_GEMMA3GGUF_H
#define MVC_ARCHITECTURES_GEMMA3_GEMMA3GGUF_H

#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "architectures/common/GgufImport.h"
#include "architectures/common/HfConfig.h"
#include "runtime/weights/Gguf.h"

namespace mvc {

class Gemma3GgufImport : public MappedGgufImport {
public:
  /// Checks the architecture, that every tensor has an HF counterpart and a type mvc
  /// dequantizes, that every layer is complete, and derives the config. `reader` must
  /// outlive the result. Errors name the file and the key or tensor.
  static absl::StatusOr<Gemma3GgufImport> fromGguf(const GgufReader &reader);

  /// config.json as HF writes it for Gemma3ForCausalLM (v4 keys).
  const OrderedJson &config() const override { return configJson; }
  /// generation_config.json: eos_token_id lists EOS and the <end_of_turn> control token.
  const OrderedJson &generationConfig() const override { return generationJson; }
  /// The f32 values of an HF-named tensor in HF layout, as the HF checkpoint holds them
  /// (dequantized; norm weights with the converter's + 1 taken out).
  absl::StatusOr<std::vector<float>> readAsF32(const std::string &hfName) const override;
  /// Not the norms, whose values readAsF32 shifts (they are small).
  bool readsRows(const std::string &hfName) const override;
  /// Not the norms either.
  absl::StatusOr<std::optional<Blocks>> readBlocks(const std::string &hfName) const override;
  std::optional<GgmlType> blockType(const std::string &hfName) const override;
  /// The vocabulary as Gemma's tokenizer.json and tokenizer_config.json
  /// (Gemma3GgufTokenizer.h).
  absl::StatusOr<std::optional<Tokenizer>> tokenizer() const override;

private:
  explicit Gemma3GgufImport(const GgufReader &reader) : MappedGgufImport(reader) {}

  OrderedJson configJson, generationJson;
};

/// The HF name of a gemma3 GGUF tensor ("blk.3.attn_q.weight" ->
/// "model.layers.3.self_attn.q_proj.weight"); empty when it has none.
std::string gemma3HfName(const std::string &ggufName);

} // namespace mvc

#endif // MVC_ARCHITECTURES_GEMMA3_GEMMA3GGUF_H
