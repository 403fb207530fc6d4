#include "runtime/text/Bpe.h"

#include <cstdio>
#include <queue>

#include "runtime/text/Strings.h"
#include "runtime/text/Unicode.h"

namespace mvc::text {

absl::StatusOr<std::unique_ptr<BpeModel>> BpeModel::fromJson(const nlohmann::json& json) {
  if (!json.is_object() || json.value("type", std::string("BPE")) != "BPE") {
    return absl::UnimplementedError(cat(
        "unsupported: model type ", json.is_object() && json.contains("type") ? json["type"].dump()
                                                                              : "(missing)"));
  }
  if (json.contains("dropout") && !json["dropout"].is_null() && json["dropout"] != 0.0) {
    return absl::UnimplementedError("unsupported: model.dropout (non-deterministic BPE)");
  }
  auto model = std::make_unique<BpeModel>();
  auto vocab = json.find("vocab");
  if (vocab == json.end() || !vocab->is_object()) {
    return absl::InvalidArgumentError("tokenizer.json: model.vocab must be an object");
  }
  model->vocab_.reserve(vocab->size());
  for (auto it = vocab->begin(); it != vocab->end(); ++it) {
    if (!it.value().is_number_integer() || it.value().get<int64_t>() < 0 ||
        it.value().get<int64_t>() >= (int64_t{1} << 30)) {
      return absl::InvalidArgumentError(
          cat("tokenizer.json: model.vocab[", it.key(), "] is not a valid id"));
    }
    TokenId id = it.value().get<TokenId>();
    model->vocab_[it.key()] = id;
    if (static_cast<size_t>(id) >= model->id_to_token_.size()) {
      model->id_to_token_.resize(id + 1);
    }
    model->id_to_token_[id] = it.key();
  }
  auto optionalString = [&](const char* key) {
    auto it = json.find(key);
    return it != json.end() && it->is_string() ? it->get<std::string>() : std::string();
  };
  model->continuing_subword_prefix_ = optionalString("continuing_subword_prefix");
  model->end_of_word_suffix_ = optionalString("end_of_word_suffix");
  model->byte_fallback_ = json.value("byte_fallback", false);
  model->fuse_unk_ = json.value("fuse_unk", false);
  model->ignore_merges_ = json.value("ignore_merges", false);
  if (std::string unk = optionalString("unk_token"); !unk.empty()) {
    auto it = model->vocab_.find(unk);
    if (it == model->vocab_.end()) {
      return absl::InvalidArgumentError(
          cat("tokenizer.json: model.unk_token '", unk, "' is not in the vocab"));
    }
    model->unk_ = it->second;
  }
  for (int b = 0; b < 256; ++b) {
    char name[8];
    std::snprintf(name, sizeof(name), "<0x%02X>", b);
    auto it = model->vocab_.find(name);
    model->byte_tokens_[b] = it == model->vocab_.end() ? -1 : it->second;
  }

  auto merges = json.find("merges");
  if (merges == json.end() || !merges->is_array()) {
    return absl::InvalidArgumentError("tokenizer.json: model.merges must be a list");
  }
  model->merges_.reserve(merges->size());
  const size_t prefix = model->continuing_subword_prefix_.size();
  uint32_t rank = 0;
  for (const auto& merge : *merges) {
    std::string left, right;
    if (merge.is_string()) {  // The older "left right" form.
      const std::string& text = merge.get_ref<const std::string&>();
      size_t space = text.find(' ');
      if (space == std::string::npos || text.find(' ', space + 1) != std::string::npos) {
        return absl::InvalidArgumentError(
            cat("tokenizer.json: model.merges[", rank, "] is not \"a b\""));
      }
      left = text.substr(0, space);
      right = text.substr(space + 1);
    } else if (merge.is_array() && merge.size() == 2 && merge[0].is_string() &&
               merge[1].is_string()) {
      left = merge[0].get<std::string>();
      right = merge[1].get<std::string>();
    } else {
      return absl::InvalidArgumentError(
          cat("tokenizer.json: model.merges[", rank, "] is not a pair of strings"));
    }
    auto l = model->vocab_.find(left);
    auto r = model->vocab_.find(right);
    std::string merged = left + (prefix > 0 && right.compare(0, prefix,
                                                             model->continuing_subword_prefix_) == 0
                                     ? right.substr(prefix)
                                     : right);
    auto m = model->vocab_.find(merged);
    if (l == model->vocab_.end() || r == model->vocab_.end() || m == model->vocab_.end()) {
      return absl::InvalidArgumentError(cat(
          "tokenizer.json: model.merges[", rank, "] uses a token that is not in the vocab"));
    }
    model->merges_.try_emplace(pairKey(l->second, r->second), Merge{rank, m->second});
    ++rank;
  }
  return model;
}

std::optional<TokenId> BpeModel::tokenToId(std::string_view token) const {
  auto it = vocab_.find(token);
  if (it == vocab_.end()) return std::nullopt;
  return it->second;
}

const std::string* BpeModel::idToToken(TokenId id) const {
  if (id < 0 || static_cast<size_t>(id) >= id_to_token_.size()) return nullptr;
  return &id_to_token_[id];
}

void BpeModel::tokenize(std::string_view word, std::vector<TokenId>& out) const {
  if (word.size() > kCacheMaxWordBytes) {
    tokenizeUncached(word, out);
    return;
  }
  {
    absl::MutexLock lock(&cache_mutex_);
    auto it = cache_.find(word);
    if (it != cache_.end()) {
      out.insert(out.end(), it->second.begin(), it->second.end());
      return;
    }
  }
  size_t first = out.size();
  tokenizeUncached(word, out);
  absl::MutexLock lock(&cache_mutex_);
  if (cache_.size() < kCacheMaxEntries) {
    cache_.try_emplace(std::string(word), out.begin() + static_cast<std::ptrdiff_t>(first), out.end());
  }
}

void BpeModel::tokenizeUncached(std::string_view word, std::vector<TokenId>& out) const {
  if (ignore_merges_) {
    if (auto id = tokenToId(word)) {
      out.push_back(*id);
      return;
    }
  }
  struct Symbol {
    TokenId id;
    int32_t prev, next;
    bool removed;
  };
  std::vector<Symbol> symbols;
  symbols.reserve(word.size());
  auto add = [&](TokenId id) {
    int32_t index = static_cast<int32_t>(symbols.size());
    symbols.push_back({id, index - 1, index + 1, false});
  };
  // One symbol per character (HF's merge_word), with byte fallback and fused unknowns.
  std::optional<TokenId> pending_unk;
  std::string piece;
  for (size_t i = 0; i < word.size();) {
    size_t len = utf8SequenceLength(static_cast<unsigned char>(word[i]));
    len = std::min(len, word.size() - i);
    std::string_view ch = word.substr(i, len);
    bool first = i == 0;
    i += len;
    bool last = i == word.size();
    std::string_view lookup = ch;
    if ((!first && !continuing_subword_prefix_.empty()) || (last && !end_of_word_suffix_.empty())) {
      piece.assign(first ? "" : continuing_subword_prefix_);
      piece.append(ch);
      if (last) piece.append(end_of_word_suffix_);
      lookup = piece;
    }
    if (auto it = vocab_.find(lookup); it != vocab_.end()) {
      if (pending_unk) add(*pending_unk);
      pending_unk.reset();
      add(it->second);
      continue;
    }
    if (byte_fallback_) {
      bool all = true;
      for (unsigned char b : lookup) all = all && byte_tokens_[b] >= 0;
      if (all) {
        for (unsigned char b : lookup) add(byte_tokens_[b]);
        continue;
      }
    }
    if (unk_) {
      if (pending_unk && !fuse_unk_) add(*pending_unk);
      pending_unk = *unk_;
    }
  }
  if (pending_unk) add(*pending_unk);
  if (symbols.empty()) return;
  symbols.back().next = -1;

  struct Candidate {
    uint32_t rank;
    int32_t pos;
    TokenId result;
    bool operator<(const Candidate& other) const {  // std::priority_queue pops the largest.
      return rank != other.rank ? rank > other.rank : pos > other.pos;
    }
  };
  std::priority_queue<Candidate> queue;
  auto consider = [&](int32_t pos) {
    int32_t next = symbols[pos].next;
    if (next < 0) return;
    auto it = merges_.find(pairKey(symbols[pos].id, symbols[next].id));
    if (it != merges_.end()) queue.push({it->second.rank, pos, it->second.result});
  };
  for (int32_t pos = 0; pos + 1 < static_cast<int32_t>(symbols.size()); ++pos) consider(pos);
  while (!queue.empty()) {
    Candidate top = queue.top();
    queue.pop();
    Symbol& left = symbols[top.pos];
    if (left.removed || left.next < 0) continue;
    auto it = merges_.find(pairKey(left.id, symbols[left.next].id));
    if (it == merges_.end() || it->second.result != top.result) continue;  // Stale entry.
    Symbol& right = symbols[left.next];
    left.id = top.result;
    right.removed = true;
    left.next = right.next;
    if (right.next >= 0) symbols[right.next].prev = top.pos;
    if (left.prev >= 0) consider(left.prev);
    consider(top.pos);
  }
  for (const Symbol& s : symbols) {
    if (!s.removed) out.push_back(s.id);
  }
}

}  // namespace mvc::text
