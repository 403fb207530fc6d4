// The BPE model of tokenizer.json: vocab, ranked merges, byte fallback and unk handling.
#ifndef MVC_RUNTIME_TEXT_BPE_H_
#define MVC_RUNTIME_TEXT_BPE_H_

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "nlohmann/json.hpp"
#include "runtime/text/StringMap.h"

namespace mvc::text {

using TokenId = int32_t;

class BpeModel {
 public:
  static absl::StatusOr<std::unique_ptr<BpeModel>> fromJson(const nlohmann::json& model);

  // Appends the ids of one pre-tokenized word. Merging is HF's: a priority queue over merge
  // ranks (lowest rank, then leftmost first), O(n log n) in the word's length.
  void tokenize(std::string_view word, std::vector<TokenId>& out) const;

  std::optional<TokenId> tokenToId(std::string_view token) const;
  const std::string* idToToken(TokenId id) const;  // nullptr when out of range
  size_t vocabSize() const { return id_to_token_.size(); }

 private:
  struct Merge {
    uint32_t rank;
    TokenId result;
  };
  static uint64_t pairKey(TokenId left, TokenId right) {
    return (static_cast<uint64_t>(static_cast<uint32_t>(left)) << 32) |
           static_cast<uint32_t>(right);
  }
  void tokenizeUncached(std::string_view word, std::vector<TokenId>& out) const;

  StringMap<TokenId> vocab_;
  std::vector<std::string> id_to_token_;
  absl::flat_hash_map<uint64_t, Merge> merges_;
  std::array<TokenId, 256> byte_tokens_{};  // "<0xNN>" ids for byte fallback, -1 if absent
  std::optional<TokenId> unk_;
  std::string continuing_subword_prefix_;
  std::string end_of_word_suffix_;
  bool byte_fallback_ = false;
  bool fuse_unk_ = false;
  bool ignore_merges_ = false;

  // Short words repeat a lot in natural text; their ids are memoized (bounded).
  static constexpr size_t kCacheMaxWordBytes = 64;
  static constexpr size_t kCacheMaxEntries = 1 << 16;
  mutable absl::Mutex cache_mutex_;
  mutable StringMap<std::vector<TokenId>> cache_
      ABSL_GUARDED_BY(cache_mutex_);
};

}  // namespace mvc::text

#endif  // MVC_RUNTIME_TEXT_BPE_H_
