// Pre-tokenizers of tokenizer.json, by "type".
#include <algorithm>

#include "runtime/text/Strings.h"
#include "runtime/text/Pipeline.h"
#include "runtime/text/Unicode.h"

namespace mvc::text {
namespace {

// HF's SplitDelimiterBehavior.
enum class Behavior { kRemoved, kIsolated, kMergedWithPrevious, kMergedWithNext, kContiguous };

absl::StatusOr<Behavior> parseBehavior(const nlohmann::json& json, std::string_view field) {
  std::string name = json.is_string() ? json.get<std::string>() : "";
  if (name == "Removed") return Behavior::kRemoved;
  if (name == "Isolated") return Behavior::kIsolated;
  if (name == "MergedWithPrevious") return Behavior::kMergedWithPrevious;
  if (name == "MergedWithNext") return Behavior::kMergedWithNext;
  if (name == "Contiguous") return Behavior::kContiguous;
  return absl::UnimplementedError(
      cat("unsupported: ", field, ".behavior ", json.dump()));
}

struct Range {
  size_t begin, end;
  bool is_match;
};

// Turns matches into ranges covering all of `length` (gaps are non-matches), as HF's
// find_matches does; `invert` swaps the roles.
std::vector<Range> coverRanges(const std::vector<std::pair<size_t, size_t>>& matches,
                               size_t length, bool invert) {
  std::vector<Range> ranges;
  size_t last = 0;
  for (auto [begin, end] : matches) {
    if (begin != last) ranges.push_back({last, begin, invert});
    ranges.push_back({begin, end, !invert});
    last = end;
  }
  if (last != length) ranges.push_back({last, length, invert});
  return ranges;
}

// Splits `in` at `ranges` with HF's delimiter behaviour, appending non-empty pieces to `out`.
void splitWithBehavior(const Split& in, const std::vector<Range>& ranges, Behavior behavior,
                       std::vector<Split>& out) {
  std::vector<Range> pieces;
  switch (behavior) {
    case Behavior::kIsolated:
      pieces = ranges;
      break;
    case Behavior::kRemoved:
      for (const Range& r : ranges) {
        if (!r.is_match) pieces.push_back(r);
      }
      break;
    case Behavior::kContiguous:
      for (const Range& r : ranges) {
        if (!pieces.empty() && pieces.back().is_match == r.is_match) {
          pieces.back().end = r.end;
        } else {
          pieces.push_back(r);
        }
      }
      break;
    case Behavior::kMergedWithPrevious: {
      bool previous_match = false;
      for (const Range& r : ranges) {
        if (r.is_match && !previous_match && !pieces.empty()) {
          pieces.back().end = r.end;
        } else {
          pieces.push_back(r);
        }
        previous_match = r.is_match;
      }
      break;
    }
    case Behavior::kMergedWithNext: {
      bool previous_match = false;
      for (auto it = ranges.rbegin(); it != ranges.rend(); ++it) {
        if (it->is_match && !previous_match && !pieces.empty()) {
          pieces.back().begin = it->begin;
        } else {
          pieces.push_back(*it);
        }
        previous_match = it->is_match;
      }
      std::reverse(pieces.begin(), pieces.end());
      break;
    }
  }
  for (const Range& r : pieces) {
    if (r.end > r.begin) {
      out.push_back({in.text.substr(r.begin, r.end - r.begin), in.at_start && r.begin == 0});
    }
  }
}

// Applies `fn(split, out)` to every split.
template <typename Fn>
void forEachSplit(std::vector<Split>& splits, Fn fn) {
  std::vector<Split> out;
  out.reserve(splits.size());
  for (const Split& split : splits) fn(split, out);
  splits = std::move(out);
}

// Ranges of single characters for which `pred` holds.
template <typename Pred>
std::vector<std::pair<size_t, size_t>> charMatches(std::string_view text, Pred pred) {
  std::vector<std::pair<size_t, size_t>> matches;
  for (size_t i = 0; i < text.size();) {
    size_t len;
    int32_t c = decodeUtf8(text, i, &len);
    if (pred(static_cast<uint32_t>(c))) matches.emplace_back(i, i + len);
    i += len;
  }
  return matches;
}

class SplitPreTokenizer : public PreTokenizer {
 public:
  SplitPreTokenizer(Pattern pattern, Behavior behavior, bool invert)
      : pattern_(std::move(pattern)), behavior_(behavior), invert_(invert) {}
  void preTokenize(std::vector<Split>& splits) const override {
    forEachSplit(splits, [&](const Split& split, std::vector<Split>& out) {
      auto ranges = coverRanges(pattern_.findAll(split.text), split.text.size(), invert_);
      splitWithBehavior(split, ranges, behavior_, out);
    });
  }

 private:
  Pattern pattern_;
  Behavior behavior_;
  bool invert_;
};

// Splits on characters satisfying a predicate (Digits, Punctuation, WhitespaceSplit, ...).
class CharClassPreTokenizer : public PreTokenizer {
 public:
  using Predicate = bool (*)(uint32_t);
  CharClassPreTokenizer(Predicate pred, Behavior behavior) : pred_(pred), behavior_(behavior) {}
  void preTokenize(std::vector<Split>& splits) const override {
    forEachSplit(splits, [&](const Split& split, std::vector<Split>& out) {
      auto ranges = coverRanges(charMatches(split.text, pred_), split.text.size(), false);
      splitWithBehavior(split, ranges, behavior_, out);
    });
  }

 private:
  Predicate pred_;
  Behavior behavior_;
};

constexpr std::string_view kGpt2Pattern =
    R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)";

class ByteLevelPreTokenizer : public PreTokenizer {
 public:
  ByteLevelPreTokenizer(bool add_prefix_space, std::unique_ptr<Regex> regex)
      : add_prefix_space_(add_prefix_space), regex_(std::move(regex)) {}
  void preTokenize(std::vector<Split>& splits) const override {
    forEachSplit(splits, [&](const Split& in, std::vector<Split>& out) {
      Split split = in;
      if (add_prefix_space_ && (split.text.empty() || split.text[0] != ' ')) {
        split.text.insert(0, " ");
      }
      size_t first = out.size();
      if (regex_) {
        auto ranges = coverRanges(regex_->findAll(split.text), split.text.size(), false);
        splitWithBehavior(split, ranges, Behavior::kIsolated, out);
      } else {
        out.push_back(std::move(split));
      }
      const auto& table = bytesToUnicode();
      for (size_t i = first; i < out.size(); ++i) {
        std::string mapped;
        mapped.reserve(out[i].text.size() * 2);
        for (unsigned char b : out[i].text) appendUtf8(mapped, table[b]);
        out[i].text = std::move(mapped);
      }
    });
  }

 private:
  bool add_prefix_space_;
  std::unique_ptr<Regex> regex_;
};

class Metaspace : public PreTokenizer {
 public:
  enum class Prepend { kAlways, kFirst, kNever };
  Metaspace(std::string replacement, Prepend prepend, bool split)
      : replacement_(std::move(replacement)), prepend_(prepend), split_(split) {}
  void preTokenize(std::vector<Split>& splits) const override {
    forEachSplit(splits, [&](const Split& in, std::vector<Split>& out) {
      Split split{std::string(), in.at_start};
      for (char c : in.text) {
        if (c == ' ') {
          split.text += replacement_;
        } else {
          split.text += c;
        }
      }
      bool starts = split.text.compare(0, replacement_.size(), replacement_) == 0;
      if (!starts && (prepend_ == Prepend::kAlways || (prepend_ == Prepend::kFirst && in.at_start))) {
        split.text.insert(0, replacement_);
      }
      if (!split_) {
        out.push_back(std::move(split));
        return;
      }
      std::vector<std::pair<size_t, size_t>> matches;
      for (size_t pos = split.text.find(replacement_); pos != std::string::npos;
           pos = split.text.find(replacement_, pos + replacement_.size())) {
        matches.emplace_back(pos, pos + replacement_.size());
      }
      splitWithBehavior(split, coverRanges(matches, split.text.size(), false),
                        Behavior::kMergedWithNext, out);
    });
  }

 private:
  std::string replacement_;
  Prepend prepend_;
  bool split_;
};

class SequencePreTokenizer : public PreTokenizer {
 public:
  explicit SequencePreTokenizer(std::vector<std::unique_ptr<PreTokenizer>> steps)
      : steps_(std::move(steps)) {}
  void preTokenize(std::vector<Split>& splits) const override {
    for (const auto& step : steps_) step->preTokenize(splits);
  }

 private:
  std::vector<std::unique_ptr<PreTokenizer>> steps_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<PreTokenizer>> makePreTokenizer(const nlohmann::json& json) {
  if (!json.is_object() || !json.contains("type") || !json["type"].is_string()) {
    return unsupported("pre_tokenizer", json);
  }
  const std::string type = json["type"];
  if (type == "Split") {
    auto pattern = Pattern::fromJson(json.value("pattern", nlohmann::json()), "pre_tokenizer.pattern");
    if (!pattern.ok()) return pattern.status();
    auto behavior = parseBehavior(json.value("behavior", nlohmann::json()), "pre_tokenizer");
    if (!behavior.ok()) return behavior.status();
    return std::make_unique<SplitPreTokenizer>(std::move(*pattern), *behavior,
                                               jsonBool(json, "invert", false));
  }
  if (type == "ByteLevel") {
    std::unique_ptr<Regex> regex;
    if (jsonBool(json, "use_regex", true)) {
      auto compiled = Regex::compile(kGpt2Pattern);
      if (!compiled.ok()) return compiled.status();
      regex = std::move(*compiled);
    }
    return std::make_unique<ByteLevelPreTokenizer>(jsonBool(json, "add_prefix_space", true),
                                                   std::move(regex));
  }
  if (type == "Metaspace") {
    auto replacement = jsonString(json, "replacement", "pre_tokenizer");
    if (!replacement.ok()) return replacement.status();
    Metaspace::Prepend prepend =
        jsonBool(json, "add_prefix_space", true) ? Metaspace::Prepend::kAlways
                                                 : Metaspace::Prepend::kNever;
    if (json.contains("prepend_scheme")) {
      std::string scheme = json["prepend_scheme"].is_string() ? json["prepend_scheme"] : "";
      if (scheme == "always") {
        prepend = Metaspace::Prepend::kAlways;
      } else if (scheme == "first") {
        prepend = Metaspace::Prepend::kFirst;
      } else if (scheme == "never") {
        prepend = Metaspace::Prepend::kNever;
      } else {
        return absl::UnimplementedError(cat(
            "unsupported: pre_tokenizer.prepend_scheme ", json["prepend_scheme"].dump()));
      }
    }
    return std::make_unique<Metaspace>(*replacement, prepend, jsonBool(json, "split", true));
  }
  if (type == "Whitespace") {
    nlohmann::json spec = {{"Regex", R"(\w+|[^\w\s]+)"}};
    auto pattern = Pattern::fromJson(spec, "pre_tokenizer");
    if (!pattern.ok()) return pattern.status();
    return std::make_unique<SplitPreTokenizer>(std::move(*pattern), Behavior::kRemoved, true);
  }
  if (type == "WhitespaceSplit") {
    return std::make_unique<CharClassPreTokenizer>(&isWhitespace, Behavior::kRemoved);
  }
  if (type == "Digits") {
    return std::make_unique<CharClassPreTokenizer>(
        &isNumeric,
        jsonBool(json, "individual_digits", false) ? Behavior::kIsolated : Behavior::kContiguous);
  }
  if (type == "Punctuation") {
    Behavior behavior = Behavior::kIsolated;
    if (json.contains("behavior")) {
      auto parsed = parseBehavior(json["behavior"], "pre_tokenizer");
      if (!parsed.ok()) return parsed.status();
      behavior = *parsed;
    }
    return std::make_unique<CharClassPreTokenizer>(&isPunctuation, behavior);
  }
  if (type == "Sequence") {
    auto list = json.find("pretokenizers");
    if (list == json.end() || !list->is_array()) {
      return absl::InvalidArgumentError(
          "tokenizer.json: pre_tokenizer.pretokenizers must be a list");
    }
    std::vector<std::unique_ptr<PreTokenizer>> steps;
    for (const auto& item : *list) {
      auto step = makePreTokenizer(item);
      if (!step.ok()) return step.status();
      steps.push_back(std::move(*step));
    }
    return std::make_unique<SequencePreTokenizer>(std::move(steps));
  }
  return unsupported("pre_tokenizer", json);
}

}  // namespace mvc::text
