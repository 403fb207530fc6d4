//===- Gemma3Gguf.cpp - a gemma3 GGUF as an HF Gemma 3 checkpoint ---------===//
#include "architectures/gemma3/Gemma3Gguf.h"
#include "architectures/gemma3/Gemma3GgufTokenizer.h"

#include <cstdlib>
#include <set>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/strip.h"
#include "absl/strings/str_cat.h"
#include "runtime/util/StatusMacros.h"
#include "runtime/weights/GgufDequant.h"

namespace mvc {

namespace {

/// GGUF per-layer tensor names (blk.N.<name>.weight) and their HF names under
/// model.layers.N.
constexpr GgufLayerTensor kLayerNames[] = {
    {"attn_norm", "input_layernorm"},
    {"attn_q", "self_attn.q_proj"},
    {"attn_k", "self_attn.k_proj"},
    {"attn_v", "self_attn.v_proj"},
    {"attn_output", "self_attn.o_proj"},
    {"attn_q_norm", "self_attn.q_norm"},
    {"attn_k_norm", "self_attn.k_norm"},
    {"post_attention_norm", "post_attention_layernorm"},
    {"ffn_norm", "pre_feedforward_layernorm"},
    {"ffn_gate", "mlp.gate_proj"},
    {"ffn_up", "mlp.up_proj"},
    {"ffn_down", "mlp.down_proj"},
    {"post_ffw_norm", "post_feedforward_layernorm"},
};

constexpr int kControlTokenType = 3; // llama.cpp's LLAMA_TOKEN_TYPE_CONTROL

/// Reads optional metadata: absent keys give the fallback, present ones must have the type.
struct Metadata {
  const GgufReader &reader;
  absl::StatusOr<uint64_t> uint(const std::string &key) const { return reader.getUInt(key); }
  absl::StatusOr<uint64_t> uint(const std::string &key, uint64_t fallback) const {
    return reader.find(key) ? reader.getUInt(key) : fallback;
  }
  absl::StatusOr<double> number(const std::string &key, double fallback) const {
    return reader.find(key) ? reader.getFloat(key) : fallback;
  }
};

bool isNorm(absl::string_view ggufName) { return absl::EndsWith(ggufName, "norm.weight"); }

} // namespace

std::string gemma3HfName(const std::string &ggufName) {
  return ggufTensorHfName(ggufName, kLayerNames);
}

absl::StatusOr<Gemma3GgufImport> Gemma3GgufImport::fromGguf(const GgufReader &reader) {
  const std::string &path = reader.path();
  auto invalid = [&](const std::string &what) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": ", what));
  };
  MVC_ASSIGN_OR_RETURN(absl::string_view arch, reader.getString("general.architecture"));
  if (arch != "gemma3")
    return invalid(absl::StrCat("unsupported GGUF architecture '", arch,
                                "' (mvc imports gemma3 here)"));

  Gemma3GgufImport result(reader);
  for (const GgufTensor &t : reader.tensors()) {
    if (!canDequantize(t.type))
      return absl::UnimplementedError(absl::StrCat(path, ": unsupported GGUF tensor type ",
                                                   ggmlTypeName(t.type), " in '", t.name, "'"));
    std::string hf = gemma3HfName(t.name);
    if (hf.empty())
      return invalid(absl::StrCat("tensor '", t.name, "' has no Gemma 3 counterpart"));
    result.names.emplace(hf, t.name);
  }

  Metadata m{reader};
  MVC_ASSIGN_OR_RETURN(uint64_t hidden, m.uint("gemma3.embedding_length"));
  MVC_ASSIGN_OR_RETURN(uint64_t layers, m.uint("gemma3.block_count"));
  MVC_ASSIGN_OR_RETURN(uint64_t ffn, m.uint("gemma3.feed_forward_length"));
  MVC_ASSIGN_OR_RETURN(uint64_t heads, m.uint("gemma3.attention.head_count"));
  MVC_ASSIGN_OR_RETURN(uint64_t kvHeads, m.uint("gemma3.attention.head_count_kv", heads));
  if (heads == 0 || hidden == 0)
    return invalid("gemma3.embedding_length and gemma3.attention.head_count must be positive");
  MVC_ASSIGN_OR_RETURN(uint64_t headDim, m.uint("gemma3.attention.key_length", hidden / heads));
  MVC_ASSIGN_OR_RETURN(uint64_t valueDim, m.uint("gemma3.attention.value_length", headDim));
  if (valueDim != headDim)
    return invalid(absl::StrCat("gemma3.attention.value_length ", valueDim,
                                " differs from key_length ", headDim));
  MVC_ASSIGN_OR_RETURN(double eps, reader.getFloat("gemma3.attention.layer_norm_rms_epsilon"));
  MVC_ASSIGN_OR_RETURN(uint64_t window, m.uint("gemma3.attention.sliding_window"));
  MVC_ASSIGN_OR_RETURN(uint64_t context, m.uint("gemma3.context_length"));
  MVC_ASSIGN_OR_RETURN(double theta, m.number("gemma3.rope.freq_base", 1e6));
  MVC_ASSIGN_OR_RETURN(double thetaLocal, m.number("gemma3.rope.freq_base_swa", 10000.0));
  MVC_ASSIGN_OR_RETURN(uint64_t bos, m.uint("tokenizer.ggml.bos_token_id", 2));
  MVC_ASSIGN_OR_RETURN(uint64_t eos, m.uint("tokenizer.ggml.eos_token_id", 1));
  MVC_ASSIGN_OR_RETURN(uint64_t pad, m.uint("tokenizer.ggml.padding_token_id", 0));

  const GgufTensor *embed = reader.tensor("token_embd.weight");
  if (!embed || embed->dims.size() != 2 || uint64_t(embed->dims[0]) != hidden)
    return invalid(absl::StrCat("expected a tensor 'token_embd.weight' of dims {", hidden,
                                ", vocab}"));
  MVC_RETURN_IF_ERROR(result.checkLayers(layers, kLayerNames, "gemma3.block_count"));

  OrderedJson &c = result.configJson;
  c["architectures"] = {"Gemma3ForCausalLM"};
  c["model_type"] = "gemma3_text";
  c["vocab_size"] = embed->dims[1];
  c["hidden_size"] = hidden;
  c["intermediate_size"] = ffn;
  c["num_hidden_layers"] = layers;
  c["num_attention_heads"] = heads;
  c["num_key_value_heads"] = kvHeads;
  c["head_dim"] = headDim;
  c["rms_norm_eps"] = shortestDecimal(float(eps));
  // llama.cpp scales queries by head_dim^-0.5, except for the 27B model (hidden / heads),
  // whose HF config says query_pre_attn_scalar 168; the GGUF does not store it.
  c["query_pre_attn_scalar"] = hidden == 5376 && layers == 62 ? hidden / heads : headDim;
  c["sliding_window"] = window;
  c["sliding_window_pattern"] = 6;
  c["rope_theta"] = theta;
  c["rope_local_base_freq"] = thetaLocal;
  c["max_position_embeddings"] = context;
  c["hidden_activation"] = "gelu_pytorch_tanh";
  c["attention_bias"] = false;
  c["tie_word_embeddings"] = reader.tensor("output.weight") == nullptr;
  c["bos_token_id"] = bos;
  c["eos_token_id"] = eos;
  c["pad_token_id"] = pad;
  c["torch_dtype"] = "float32";
  if (reader.find("gemma3.rope.scaling.type")) {
    MVC_ASSIGN_OR_RETURN(absl::string_view type, reader.getString("gemma3.rope.scaling.type"));
    if (type != "none") {
      MVC_ASSIGN_OR_RETURN(double factor, reader.getFloat("gemma3.rope.scaling.factor"));
      c["rope_scaling"] = {{"rope_type", std::string(type)}, {"factor", factor}};
    }
  }

  // Generation stops on EOS and on the chat turn's end, as HF's generation_config.json has it.
  std::set<int64_t> stops = {int64_t(eos)};
  if (reader.find("tokenizer.ggml.tokens") && reader.find("tokenizer.ggml.token_type")) {
    MVC_ASSIGN_OR_RETURN(auto tokens, reader.getStringArray("tokenizer.ggml.tokens"));
    MVC_ASSIGN_OR_RETURN(auto types, reader.getIntArray("tokenizer.ggml.token_type"));
    for (size_t i = 0; i < tokens.size() && i < types.size(); ++i)
      if (tokens[i] == "<end_of_turn>" && types[i] == kControlTokenType)
        stops.insert(int64_t(i));
  }
  result.generationJson["eos_token_id"] = std::vector<int64_t>(stops.begin(), stops.end());
  return result;
}

absl::StatusOr<std::vector<float>> Gemma3GgufImport::readAsF32(const std::string &hfName) const {
  MVC_ASSIGN_OR_RETURN(const GgufTensor *t, find(hfName));
  MVC_ASSIGN_OR_RETURN(std::vector<float> values, reader->readAsF32(t->name));
  if (isNorm(t->name))
    for (float &v : values) v -= 1.0f;
  return values;
}

bool Gemma3GgufImport::readsRows(const std::string &hfName) const {
  auto t = find(hfName);
  return t.ok() && !isNorm((*t)->name);
}

absl::StatusOr<std::optional<GgufImport::Blocks>>
Gemma3GgufImport::readBlocks(const std::string &hfName) const {
  MVC_ASSIGN_OR_RETURN(const GgufTensor *t, find(hfName));
  if (isNorm(t->name)) return std::nullopt;
  return MappedGgufImport::readBlocks(hfName);
}

std::optional<GgmlType> Gemma3GgufImport::blockType(const std::string &hfName) const {
  auto t = find(hfName);
  if (!t.ok() || isNorm((*t)->name)) return std::nullopt;
  return (*t)->type;
}

absl::StatusOr<std::optional<GgufImport::Tokenizer>> Gemma3GgufImport::tokenizer() const {
  if (!ggufHasTokenizer(*reader))
    return std::nullopt;
  MVC_ASSIGN_OR_RETURN(std::string json, ggufGemmaTokenizerJson(*reader));
  MVC_ASSIGN_OR_RETURN(OrderedJson config, ggufGemmaTokenizerConfig(*reader));
  return Tokenizer{std::move(json), std::move(config)};
}

} // namespace mvc
