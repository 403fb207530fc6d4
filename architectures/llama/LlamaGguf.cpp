//===- LlamaGguf.cpp - a llama GGUF as an HF LlamaForCausalLM checkpoint --===//
#include "architectures/llama/LlamaGguf.h"

#include <cstdlib>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "architectures/common/GgufBpeTokenizer.h"
#include "runtime/util/StatusMacros.h"
#include "runtime/weights/GgufDequant.h"

namespace mvc {

namespace {

constexpr GgufLayerTensor kLayerNames[] = {
    {"attn_norm", "input_layernorm"},    {"attn_q", "self_attn.q_proj"},
    {"attn_k", "self_attn.k_proj"},      {"attn_v", "self_attn.v_proj"},
    {"attn_output", "self_attn.o_proj"}, {"ffn_norm", "post_attention_layernorm"},
    {"ffn_gate", "mlp.gate_proj"},       {"ffn_up", "mlp.up_proj"},
    {"ffn_down", "mlp.down_proj"},
};

/// Undoes the converter's per-head row permutation of q_proj / k_proj ([heads·D, in]):
/// rows of `in` values (floats, or the bytes of a row of ggml blocks).
template <typename Container>
Container unpermuteRows(const Container &gguf, int64_t heads, int64_t in) {
  int64_t rows = static_cast<int64_t>(gguf.size()) / in, d = rows / heads;
  Container hf(gguf.size(), typename Container::value_type());
  for (int64_t h = 0; h < heads; ++h)
    for (int64_t i = 0; i < d / 2; ++i)
      for (int64_t j = 0; j < 2; ++j)
        std::copy_n(gguf.begin() + (h * d + 2 * i + j) * in, in,
                    hf.begin() + (h * d + j * (d / 2) + i) * in);
  return hf;
}

} // namespace

std::string llamaHfName(const std::string &ggufName) {
  return ggufTensorHfName(ggufName, kLayerNames);
}

absl::StatusOr<LlamaGgufImport> LlamaGgufImport::fromGguf(const GgufReader &reader) {
  auto invalid = [&](const std::string &what) {
    return absl::InvalidArgumentError(absl::StrCat(reader.path(), ": ", what));
  };
  MVC_ASSIGN_OR_RETURN(absl::string_view arch, reader.getString("general.architecture"));
  if (arch != "llama")
    return invalid(absl::StrCat("GGUF architecture '", arch, "' is not llama"));
  if (reader.tensor("rope_freqs.weight"))
    return absl::UnimplementedError(absl::StrCat(
        reader.path(), ": rope_freqs.weight (llama3 RoPE frequency factors) is not supported yet"));
  LlamaGgufImport result(reader);
  for (const GgufTensor &t : reader.tensors()) {
    if (!canDequantize(t.type))
      return absl::UnimplementedError(absl::StrCat(reader.path(), ": unsupported GGUF tensor type ",
                                                   ggmlTypeName(t.type), " in '", t.name, "'"));
    std::string hf = llamaHfName(t.name);
    if (hf.empty())
      return invalid(absl::StrCat("tensor '", t.name, "' has no Llama counterpart"));
    result.names.emplace(hf, t.name);
  }
  auto uintOr = [&](const char *key, uint64_t fallback) -> absl::StatusOr<uint64_t> {
    return reader.find(key) ? reader.getUInt(key) : fallback;
  };
  MVC_ASSIGN_OR_RETURN(uint64_t hidden, reader.getUInt("llama.embedding_length"));
  MVC_ASSIGN_OR_RETURN(uint64_t layers, reader.getUInt("llama.block_count"));
  MVC_ASSIGN_OR_RETURN(uint64_t ffn, reader.getUInt("llama.feed_forward_length"));
  MVC_ASSIGN_OR_RETURN(uint64_t heads, reader.getUInt("llama.attention.head_count"));
  MVC_ASSIGN_OR_RETURN(uint64_t kvHeads, uintOr("llama.attention.head_count_kv", heads));
  if (heads == 0 || kvHeads == 0 || hidden == 0 || hidden % heads != 0)
    return invalid("llama.embedding_length and llama.attention.head_count[_kv] must be positive, "
                   "the heads dividing the embedding");
  uint64_t headDim = hidden / heads;
  MVC_ASSIGN_OR_RETURN(uint64_t rotated, uintOr("llama.rope.dimension_count", headDim));
  if (rotated != headDim)
    return invalid(absl::StrCat("llama.rope.dimension_count ", rotated,
                                " differs from the head size ", headDim,
                                " (partial rotation is not supported)"));
  MVC_ASSIGN_OR_RETURN(double eps, reader.getFloat("llama.attention.layer_norm_rms_epsilon"));
  MVC_ASSIGN_OR_RETURN(uint64_t context, uintOr("llama.context_length", 2048));
  double theta = 10000.0;
  if (reader.find("llama.rope.freq_base")) {
    MVC_ASSIGN_OR_RETURN(theta, reader.getFloat("llama.rope.freq_base"));
  }
  if (!(theta > 0) || !(eps > 0))
    return invalid(
        "llama.rope.freq_base and llama.attention.layer_norm_rms_epsilon must be positive");
  const GgufTensor *embed = reader.tensor("token_embd.weight");
  if (!embed || embed->dims.size() != 2 || uint64_t(embed->dims[0]) != hidden)
    return invalid(
        absl::StrCat("expected a tensor 'token_embd.weight' of dims {", hidden, ", vocab}"));
  MVC_RETURN_IF_ERROR(result.checkLayers(layers, kLayerNames, "llama.block_count"));

  OrderedJson &c = result.configJson;
  c["architectures"] = {"LlamaForCausalLM"};
  c["model_type"] = "llama";
  c["vocab_size"] = embed->dims[1];
  c["hidden_size"] = hidden;
  c["intermediate_size"] = ffn;
  c["num_hidden_layers"] = layers;
  c["num_attention_heads"] = heads;
  c["num_key_value_heads"] = kvHeads;
  c["rms_norm_eps"] = shortestDecimal(float(eps));
  c["rope_theta"] = theta;
  c["max_position_embeddings"] = context;
  c["hidden_act"] = "silu";
  c["tie_word_embeddings"] = reader.tensor("output.weight") == nullptr;
  if (reader.find("llama.rope.scaling.type")) {
    MVC_ASSIGN_OR_RETURN(absl::string_view type, reader.getString("llama.rope.scaling.type"));
    if (type == "linear") {
      MVC_ASSIGN_OR_RETURN(double factor, reader.getFloat("llama.rope.scaling.factor"));
      c["rope_scaling"] = {{"rope_type", "linear"}, {"factor", factor}};
    } else if (type != "none") {
      return absl::UnimplementedError(absl::StrCat(reader.path(), ": llama.rope.scaling.type '",
                                                   type, "' is not supported (linear, none)"));
    }
  }
  for (auto [key, hfKey] : {std::pair("tokenizer.ggml.bos_token_id", "bos_token_id"),
                            std::pair("tokenizer.ggml.eos_token_id", "eos_token_id"),
                            std::pair("tokenizer.ggml.padding_token_id", "pad_token_id")})
    if (reader.find(key)) {
      MVC_ASSIGN_OR_RETURN(uint64_t id, reader.getUInt(key));
      c[hfKey] = id;
    }
  if (c.contains("eos_token_id"))
    result.generationJson["eos_token_id"] = c["eos_token_id"];
  result.numHeads = static_cast<int64_t>(heads);
  result.numKvHeads = static_cast<int64_t>(kvHeads);
  return result;
}

absl::StatusOr<std::vector<float>> LlamaGgufImport::readAsF32(const std::string &hfName) const {
  MVC_ASSIGN_OR_RETURN(const GgufTensor *t, find(hfName));
  MVC_ASSIGN_OR_RETURN(std::vector<float> values, reader->readAsF32(t->name));
  bool q = absl::EndsWith(t->name, ".attn_q.weight"), k = absl::EndsWith(t->name, ".attn_k.weight");
  if (q || k) {
    std::vector<int64_t> dims = t->hfShape();
    int64_t heads = q ? numHeads : numKvHeads;
    if (dims.size() != 2 || dims[0] % (2 * heads) != 0)
      return absl::InvalidArgumentError(absl::StrCat(reader->path(), ": tensor '", t->name,
                                                     "' does not split into ", heads, " heads"));
    return unpermuteRows(values, heads, dims[1]);
  }
  return values;
}

bool LlamaGgufImport::readsRows(const std::string &hfName) const {
  auto t = find(hfName);
  return t.ok() && !absl::EndsWith((*t)->name, ".attn_q.weight") &&
         !absl::EndsWith((*t)->name, ".attn_k.weight");
}

absl::StatusOr<std::optional<GgufImport::Blocks>>
LlamaGgufImport::readBlocks(const std::string &hfName) const {
  MVC_ASSIGN_OR_RETURN(std::optional<Blocks> blocks, MappedGgufImport::readBlocks(hfName));
  MVC_ASSIGN_OR_RETURN(const GgufTensor *t, find(hfName));
  bool q = absl::EndsWith(t->name, ".attn_q.weight"), k = absl::EndsWith(t->name, ".attn_k.weight");
  if (!blocks || !(q || k)) return blocks;
  std::vector<int64_t> dims = t->hfShape();
  int64_t heads = q ? numHeads : numKvHeads;
  if (dims.size() != 2 || dims[0] % (2 * heads) != 0)
    return absl::InvalidArgumentError(absl::StrCat(reader->path(), ": tensor '", t->name,
                                                   "' does not split into ", heads, " heads"));
  blocks->bytes = unpermuteRows(blocks->bytes, heads, int64_t(blocks->bytes.size()) / dims[0]);
  return blocks;
}

absl::StatusOr<std::optional<GgufImport::Tokenizer>> LlamaGgufImport::tokenizer() const {
  return ggufBpeTokenizer(*reader);
}

} // namespace mvc
