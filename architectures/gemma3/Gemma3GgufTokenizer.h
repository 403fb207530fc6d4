//===- Gemma3GgufTokenizer.h - a GGUF vocabulary as Gemma 3's tokenizer.json -*- C++ -*-===//
//
// A Gemma GGUF holds its tokenizer as a SentencePiece-style vocabulary
// (`tokenizer.ggml.model` "llama": tokens, scores, token types, special ids, add-BOS flag).
// This rebuilds the HF `tokenizer.json` Gemma 3 ships from it, so the artifact and the
// runtime see one tokenizer format:
//   - normalizer (" " -> "▁"), pre_tokenizer (Split on " "), decoder (▁ -> " ", ByteFallback,
//     Fuse) and a TemplateProcessing post_processor adding BOS (and EOS) as the GGUF's
//     add_bos_token / add_eos_token say: the structure of the real file.
//   - model: BPE with byte_fallback over the tokens (llama.cpp's converter stores the
//     whitespace-run pieces as literal spaces; they become "▁" runs again). A SentencePiece
//     BPE piece t is made by merging a and b with t = a + b: every such split of a NORMAL or
//     USER_DEFINED piece is a merge, ranked by the score of t (higher first), ties by the
//     longer left part, then the longer right part, then the id of t.
//     USER_DEFINED pieces rank with score 0, as SentencePiece stores them (the GGUF holds
//     -1000 for every non-NORMAL piece); this gives the real file's 514906 merges in order.
//   - added_tokens: every CONTROL and USER_DEFINED piece (normalized: false). Special are
//     the GGUF's bos/eos/unk/pad pieces and Gemma 3's turn and image markers, the ones the
//     real file marks special (the GGUF's CONTROL type also covers <mask>, [multimodal] and
//     6200+ <unusedN> pieces the real file treats as ordinary, and misses the image markers).
// On the real Gemma 3 270M GGUF the result encodes and decodes every line of the gemma3
// golden-tokens exactly as the real tokenizer.json does. MLIR-free.
//
//===----------------------------------------------------------------------===//
#ifndef MVC_ARCHITECTURES_GEMMA3_GEMMA3GGUFTOKENIZER_H
#define MVC_ARCHITECTURES_GEMMA3_GEMMA3GGUFTOKENIZER_H

#include <string>

#include "absl/status/statusor.h"
#include "architectures/common/HfConfig.h"
#include "runtime/weights/Gguf.h"

namespace mvc {

/// True when the GGUF holds a vocabulary (`tokenizer.ggml.tokens`).
bool ggufHasTokenizer(const GgufReader &reader);

/// The tokenizer.json text. Errors (a tokenizer model other than "llama", arrays of
/// different lengths, an unknown token type, an empty, duplicate or non-UTF-8 piece, a
/// special id out of range) name the file and the key.
absl::StatusOr<std::string> ggufGemmaTokenizerJson(const GgufReader &reader);

/// tokenizer_config.json: add_bos_token, add_eos_token, the bos/eos/unk/pad pieces the GGUF
/// names, and chat_template when the GGUF holds `tokenizer.chat_template`.
absl::StatusOr<OrderedJson> ggufGemmaTokenizerConfig(const GgufReader &reader);

} // namespace mvc

#endif // MVC_ARCHITECTURES_GEMMA3_GEMMA3GGUFTOKENIZER_H
