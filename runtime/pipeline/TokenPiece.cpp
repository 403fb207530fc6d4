#include "runtime/pipeline/TokenPiece.h"

#include <vector>

#include "runtime/text/Tokenizer.h"

namespace mvc {

TokenPieces::TokenPieces(const text::Tokenizer &tokenizer) : tokenizer(&tokenizer) {
  for (const char *letter : {"a", "x", "A"})
    if (std::optional<int32_t> id = tokenizer.tokenToId(letter); id && !tokenizer.isSpecial(*id)) {
      context = *id;
      contextText = tokenizer.decode(std::vector<int32_t>{*id}, true);
      break;
    }
}

std::string TokenPieces::piece(int32_t id, bool skipSpecial) const {
  std::string alone = tokenizer->decode(std::vector<int32_t>{id}, skipSpecial);
  if (!context || alone.empty())
    return alone;
  std::string both = tokenizer->decode(std::vector<int32_t>{*context, id}, skipSpecial);
  if (both.size() >= contextText.size() && both.compare(0, contextText.size(), contextText) == 0)
    return both.substr(contextText.size());
  return alone; // a decoder that merges across the pair: the token alone
}

} // namespace mvc
