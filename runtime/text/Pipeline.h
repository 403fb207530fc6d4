// The generic stages of an HF tokenizer.json pipeline, each built from its JSON object by
// `type`: normalizers, pre-tokenizers and decoders. Unknown types fail with
// "unsupported: <field> type X".
#ifndef MVC_RUNTIME_TEXT_PIPELINE_H_
#define MVC_RUNTIME_TEXT_PIPELINE_H_

#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "nlohmann/json.hpp"
#include "runtime/text/Regex.h"

namespace mvc::text {

// A `{"String": s}` or `{"Regex": r}` pattern of Split / Replace components.
class Pattern {
 public:
  static absl::StatusOr<Pattern> fromJson(const nlohmann::json& json, std::string_view field);
  // Byte ranges of successive non-overlapping matches in `text` (valid UTF-8).
  std::vector<std::pair<size_t, size_t>> findAll(std::string_view text) const;
  std::string replaceAll(std::string_view text, std::string_view content) const;

 private:
  std::string literal_;
  std::shared_ptr<Regex> regex_;
};

// One piece of text between pre-tokenization steps. `at_start` marks a piece that begins the
// original input (Metaspace's prepend_scheme "first" needs it).
struct Split {
  std::string text;
  bool at_start = false;
};

class Normalizer {
 public:
  virtual ~Normalizer() = default;
  virtual void normalize(std::string& text) const = 0;
};

class PreTokenizer {
 public:
  virtual ~PreTokenizer() = default;
  // Replaces each split by the pieces it splits into (empty pieces are dropped).
  virtual void preTokenize(std::vector<Split>& splits) const = 0;
};

class Decoder {
 public:
  virtual ~Decoder() = default;
  // HF's decode_chain: token strings in, token strings out.
  virtual void decodeChain(std::vector<std::string>& tokens) const = 0;
};

absl::StatusOr<std::unique_ptr<Normalizer>> makeNormalizer(const nlohmann::json& json);
absl::StatusOr<std::unique_ptr<PreTokenizer>> makePreTokenizer(const nlohmann::json& json);
absl::StatusOr<std::unique_ptr<Decoder>> makeDecoder(const nlohmann::json& json);

// Shared JSON accessors producing "tokenizer.json: <field> ..." errors.
absl::StatusOr<std::string> jsonString(const nlohmann::json& json, std::string_view key,
                                       std::string_view field);
bool jsonBool(const nlohmann::json& json, std::string_view key, bool fallback);
absl::Status unsupported(std::string_view field, const nlohmann::json& json);

}  // namespace mvc::text

#endif  // MVC_RUNTIME_TEXT_PIPELINE_H_
