#include "runtime/text/AddedVocabulary.h"

#include "runtime/text/Strings.h"
#include "runtime/text/Unicode.h"

namespace mvc::text {

void AddedVocabulary::Trie::insert(std::string_view key, int32_t token) {
  int32_t node = 0;
  for (unsigned char c : key) {
    auto [it, inserted] = nodes[node].children.try_emplace(c, static_cast<int32_t>(nodes.size()));
    int32_t child = it->second;
    if (inserted) nodes.emplace_back();
    node = child;
  }
  if (nodes[node].token < 0) nodes[node].token = token;
  first_bytes.set(static_cast<unsigned char>(key[0]));
}

int32_t AddedVocabulary::Trie::longestAt(std::string_view text, size_t pos,
                                         size_t* length) const {
  int32_t best = -1;
  int32_t node = 0;
  for (size_t i = pos; i < text.size(); ++i) {
    const auto& children = nodes[node].children;
    auto it = children.find(static_cast<unsigned char>(text[i]));
    if (it == children.end()) break;
    node = it->second;
    if (nodes[node].token >= 0) {
      best = nodes[node].token;
      *length = i + 1 - pos;
    }
  }
  return best;
}

absl::StatusOr<AddedVocabulary> AddedVocabulary::fromJson(const nlohmann::json& json) {
  AddedVocabulary vocab;
  if (json.is_null()) return vocab;
  if (!json.is_array()) {
    return absl::InvalidArgumentError("tokenizer.json: added_tokens must be a list");
  }
  for (const auto& item : json) {
    if (!item.is_object() || !item.contains("id") || !item["id"].is_number_integer() ||
        !item.contains("content") || !item["content"].is_string() ||
        item["content"].get_ref<const std::string&>().empty()) {
      return absl::InvalidArgumentError(
          cat("tokenizer.json: added_tokens[", vocab.tokens_.size(),
                       "] needs an integer id and a non-empty content"));
    }
    AddedToken token;
    token.id = item["id"].get<int32_t>();
    token.content = item["content"].get<std::string>();
    token.single_word = item.value("single_word", false);
    token.lstrip = item.value("lstrip", false);
    token.rstrip = item.value("rstrip", false);
    token.special = item.value("special", false);
    token.normalized = item.value("normalized", !token.special);
    if (!isValidUtf8(token.content)) {
      return absl::InvalidArgumentError(
          cat("tokenizer.json: added token ", token.id, " is not valid UTF-8"));
    }
    size_t index = vocab.tokens_.size();
    vocab.by_id_[token.id] = index;
    vocab.by_content_[token.content] = index;
    (token.normalized ? vocab.normalized_trie_ : vocab.raw_trie_)
        .insert(token.content, static_cast<int32_t>(index));
    vocab.tokens_.push_back(std::move(token));
  }
  return vocab;
}

const AddedToken* AddedVocabulary::byId(int32_t id) const {
  auto it = by_id_.find(id);
  return it == by_id_.end() ? nullptr : &tokens_[it->second];
}

const AddedToken* AddedVocabulary::byContent(std::string_view content) const {
  auto it = by_content_.find(content);
  return it == by_content_.end() ? nullptr : &tokens_[it->second];
}

namespace {

// The code point ending just before `pos` (or -1 at the start).
int32_t codepointBefore(std::string_view text, size_t pos) {
  if (pos == 0) return -1;
  size_t start = pos - 1;
  while (start > 0 && (static_cast<unsigned char>(text[start]) & 0xC0) == 0x80) --start;
  size_t len;
  return decodeUtf8(text, start, &len);
}

}  // namespace

std::vector<Segment> AddedVocabulary::split(std::string_view text, bool normalized) const {
  const Trie& trie = normalized ? normalized_trie_ : raw_trie_;
  std::vector<Segment> segments;
  size_t consumed = 0;  // End of the last emitted match.
  for (size_t pos = 0; pos < text.size();) {
    size_t length = 0;
    int32_t index = trie.first_bytes.test(static_cast<unsigned char>(text[pos]))
                        ? trie.longestAt(text, pos, &length)
                        : -1;
    if (index < 0) {
      ++pos;
      continue;
    }
    const AddedToken& token = tokens_[index];
    size_t start = pos, stop = pos + length;
    pos = stop;  // Leftmost-longest matches never overlap.
    if (token.single_word) {
      int32_t before = codepointBefore(text, start);
      size_t len;
      int32_t after = stop < text.size() ? decodeUtf8(text, stop, &len) : -1;
      if ((before >= 0 && isWordChar(before)) || (after >= 0 && isWordChar(after))) continue;
    }
    if (token.lstrip) {
      while (start > consumed) {
        size_t previous = start - 1;
        while (previous > 0 && (static_cast<unsigned char>(text[previous]) & 0xC0) == 0x80) {
          --previous;
        }
        size_t len;
        int32_t c = decodeUtf8(text, previous, &len);
        if (c < 0 || !isWhitespace(c) || previous < consumed) break;
        start = previous;
      }
    }
    if (token.rstrip) {
      while (stop < text.size()) {
        size_t len;
        int32_t c = decodeUtf8(text, stop, &len);
        if (c < 0 || !isWhitespace(c)) break;
        stop += len;
      }
      pos = stop;
    }
    if (consumed < start) segments.push_back({consumed, start, -1});
    segments.push_back({start, stop, token.id});
    consumed = stop;
  }
  if (consumed < text.size()) segments.push_back({consumed, text.size(), -1});
  return segments;
}

}  // namespace mvc::text
