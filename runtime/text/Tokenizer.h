// An HF tokenizer.json tokenizer: added tokens, normalizer, pre-tokenizer, BPE model,
// post-processor and decoder, encoding and decoding exactly as the `tokenizers` library does.
//
// Invalid UTF-8 input: encode() first replaces every maximal ill-formed subsequence by U+FFFD
// (as Python's bytes.decode(errors="replace") would before calling the library), so it never
// fails and never reads past the input. decode() output is always valid UTF-8.
#ifndef MVC_RUNTIME_TEXT_TOKENIZER_H_
#define MVC_RUNTIME_TEXT_TOKENIZER_H_

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "runtime/text/AddedVocabulary.h"
#include "runtime/text/Bpe.h"
#include "runtime/text/Pipeline.h"

namespace mvc::text {

class Tokenizer {
 public:
  // Parses the contents of a tokenizer.json. Unknown component types fail with
  // "unsupported: <field> type X"; malformed JSON fails with the parser's message.
  static absl::StatusOr<std::unique_ptr<Tokenizer>> fromJson(std::string_view tokenizer_json);
  static absl::StatusOr<std::unique_ptr<Tokenizer>> fromFile(const std::string& path);

  // `add_special_tokens` applies the post-processor (e.g. Gemma's BOS).
  std::vector<TokenId> encode(std::string_view text, bool add_special_tokens = true) const;
  // Unknown ids are skipped, as in the reference library.
  std::string decode(absl::Span<const TokenId> ids, bool skip_special_tokens = false) const;

  std::optional<TokenId> tokenToId(std::string_view token) const;
  std::optional<std::string> idToToken(TokenId id) const;
  bool isSpecial(TokenId id) const;
  size_t vocabSize() const;

 private:
  Tokenizer() = default;
  void encodeText(std::string_view text, bool at_start, std::vector<TokenId>& out) const;

  AddedVocabulary added_;
  std::unique_ptr<Normalizer> normalizer_;
  std::unique_ptr<PreTokenizer> pre_tokenizer_;
  std::unique_ptr<BpeModel> model_;
  std::unique_ptr<Decoder> decoder_;
  // The post-processor's template for a single sequence: ids before and after it.
  std::vector<TokenId> prefix_ids_, suffix_ids_;
};

}  // namespace mvc::text

#endif  // MVC_RUNTIME_TEXT_TOKENIZER_H_
