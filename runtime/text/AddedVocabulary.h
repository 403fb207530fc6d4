// Added tokens of tokenizer.json ("added_tokens"): matched in the text before pre-tokenization,
// leftmost-longest, with their lstrip / rstrip / single_word / normalized flags.
#ifndef MVC_RUNTIME_TEXT_ADDED_VOCABULARY_H_
#define MVC_RUNTIME_TEXT_ADDED_VOCABULARY_H_

#include <bitset>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "nlohmann/json.hpp"
#include "runtime/text/StringMap.h"

namespace mvc::text {

struct AddedToken {
  int32_t id = -1;
  std::string content;
  bool single_word = false;
  bool lstrip = false;
  bool rstrip = false;
  bool normalized = false;
  bool special = false;
};

// A piece of input text: either plain text or one matched added token (`token` >= 0).
struct Segment {
  size_t begin, end;
  int32_t token;
};

class AddedVocabulary {
 public:
  static absl::StatusOr<AddedVocabulary> fromJson(const nlohmann::json& added_tokens);

  // Splits `text` at the added tokens whose `normalized` flag equals `normalized`.
  std::vector<Segment> split(std::string_view text, bool normalized) const;

  const AddedToken* byId(int32_t id) const;
  const AddedToken* byContent(std::string_view content) const;
  const std::vector<AddedToken>& tokens() const { return tokens_; }

 private:
  // A byte trie for leftmost-longest matching.
  struct Trie {
    struct Node {
      absl::flat_hash_map<unsigned char, int32_t> children;
      int32_t token = -1;  // index into tokens_
    };
    std::vector<Node> nodes{Node()};
    std::bitset<256> first_bytes;
    void insert(std::string_view key, int32_t token);
    // Longest token starting at `pos` (index into tokens_, and its length), or -1.
    int32_t longestAt(std::string_view text, size_t pos, size_t* length) const;
  };

  std::vector<AddedToken> tokens_;
  absl::flat_hash_map<int32_t, size_t> by_id_;
  StringMap<size_t> by_content_;
  Trie raw_trie_, normalized_trie_;
};

}  // namespace mvc::text

#endif  // MVC_RUNTIME_TEXT_ADDED_VOCABULARY_H_
