//===- TokenPiece.h - a token's text as it appears mid-text ---------------===//
//
// Decoding one token alone is not what generation appends: decoders strip the first
// token's leading space (SentencePiece's Metaspace, Llama's Strip), so "▁world" alone
// decodes to "world" although it adds " world" after other text. The piece of a token is
// the text it adds after a plain context token (the first of "a", "x", "A" the vocabulary
// has): decode([context, id]) minus decode([context]). Pieces that hold part of a UTF-8
// character still decode to U+FFFD (the tokenizer's decode replaces them).
//
//===----------------------------------------------------------------------===//
#ifndef MVC_RUNTIME_PIPELINE_TOKENPIECE_H
#define MVC_RUNTIME_PIPELINE_TOKENPIECE_H

#include <cstdint>
#include <optional>
#include <string>

namespace mvc {
namespace text {
class Tokenizer;
}

class TokenPieces {
public:
  explicit TokenPieces(const text::Tokenizer &tokenizer);
  /// The text `id` adds mid-text; special tokens as their text, or "" with `skipSpecial`.
  std::string piece(int32_t id, bool skipSpecial) const;

private:
  const text::Tokenizer *tokenizer;
  std::optional<int32_t> context;
  std::string contextText;
};

} // namespace mvc

#endif // MVC_RUNTIME_PIPELINE_TOKENPIECE_H
