//===- GgufBpeTokenizer.h - a GGUF "gpt2" vocabulary as tokenizer.json -*- C++ -*-===//
//
// GGUFs of byte-level BPE models (`tokenizer.ggml.model` "gpt2": Llama 3, SmolLM2, Qwen)
// hold the vocabulary (tokens in byte-level form, Ġ for a space), the merges as "a b"
// strings in rank order, token types, special ids and the pre-tokenizer's name
// (`tokenizer.ggml.pre`). This rebuilds the HF tokenizer.json those come from:
//   model          BPE over the tokens and merges, no byte fallback, no unk;
//   pre_tokenizer  ByteLevel (GPT-2's split regex) preceded by what the pre name adds:
//                  "smollm" (and "gpt2", "starcoder"): individual digits, as SmolLM2's file;
//   decoder        ByteLevel; no normalizer; no post-processor (a BOS is added only when
//                  tokenizer.ggml.add_bos_token says so, through TemplateProcessing);
//   added_tokens   every CONTROL and USER_DEFINED token, special when CONTROL.
// tokenizer_config.json names the bos/eos/unk/pad tokens and carries the file's
// tokenizer.chat_template. An unknown pre name is refused: its split rules would differ.
// MLIR-free.
//
//===----------------------------------------------------------------------===//
#ifndef MVC_ARCHITECTURES_COMMON_GGUFBPETOKENIZER_H
#define MVC_ARCHITECTURES_COMMON_GGUFBPETOKENIZER_H

#include <optional>

#include "architectures/common/GgufImport.h"

namespace mvc {

/// The tokenizer files of a "gpt2" GGUF vocabulary; nullopt when the file has none. Errors
/// name the file and the key.
absl::StatusOr<std::optional<GgufImport::Tokenizer>> ggufBpeTokenizer(const GgufReader &reader);

} // namespace mvc

#endif
