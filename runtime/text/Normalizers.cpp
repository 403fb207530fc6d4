// Normalizers of tokenizer.json, by "type".
#include <utf8proc.h>

#include <cstdlib>

#include "runtime/text/Pipeline.h"
#include "runtime/text/Unicode.h"

namespace mvc::text {
namespace {

bool isAscii(std::string_view s) {
  for (char c : s) {
    if (static_cast<unsigned char>(c) >= 0x80) return false;
  }
  return true;
}

// NFC / NFD / NFKC / NFKD through utf8proc.
class UnicodeNormalizer : public Normalizer {
 public:
  explicit UnicodeNormalizer(int options) : options_(options) {}
  void normalize(std::string& text) const override {
    if (isAscii(text)) return;  // ASCII is invariant under every normalization form.
    utf8proc_uint8_t* result = nullptr;
    utf8proc_ssize_t n = utf8proc_map(reinterpret_cast<const utf8proc_uint8_t*>(text.data()),
                                      static_cast<utf8proc_ssize_t>(text.size()), &result,
                                      static_cast<utf8proc_option_t>(options_));
    if (n >= 0) text.assign(reinterpret_cast<char*>(result), static_cast<size_t>(n));
    std::free(result);
  }

 private:
  int options_;
};

class Lowercase : public Normalizer {
 public:
  void normalize(std::string& text) const override {
    std::string out;
    out.reserve(text.size());
    for (size_t i = 0; i < text.size();) {
      size_t len;
      int32_t c = decodeUtf8(text, i, &len);
      appendUtf8(out, static_cast<uint32_t>(utf8proc_tolower(c)));
      i += len;
    }
    text = std::move(out);
  }
};

class Strip : public Normalizer {
 public:
  Strip(bool left, bool right) : left_(left), right_(right) {}
  void normalize(std::string& text) const override {
    size_t begin = 0, end = text.size();
    while (left_ && begin < end) {
      size_t len;
      int32_t c = decodeUtf8(text, begin, &len);
      if (!isWhitespace(static_cast<uint32_t>(c))) break;
      begin += len;
    }
    while (right_ && end > begin) {
      size_t start = end - 1;
      while (start > begin && (static_cast<unsigned char>(text[start]) & 0xC0) == 0x80) --start;
      size_t len;
      if (!isWhitespace(static_cast<uint32_t>(decodeUtf8(text, start, &len)))) break;
      end = start;
    }
    text = text.substr(begin, end - begin);
  }

 private:
  bool left_, right_;
};

// Removes combining marks (category Mn), as HF's StripAccents does after an NFD.
class StripAccents : public Normalizer {
 public:
  void normalize(std::string& text) const override {
    std::string out;
    for (size_t i = 0; i < text.size();) {
      size_t len;
      int32_t c = decodeUtf8(text, i, &len);
      if (utf8proc_category(c) != UTF8PROC_CATEGORY_MN) out.append(text, i, len);
      i += len;
    }
    text = std::move(out);
  }
};

class Replace : public Normalizer {
 public:
  Replace(Pattern pattern, std::string content)
      : pattern_(std::move(pattern)), content_(std::move(content)) {}
  void normalize(std::string& text) const override { text = pattern_.replaceAll(text, content_); }

 private:
  Pattern pattern_;
  std::string content_;
};

class Prepend : public Normalizer {
 public:
  explicit Prepend(std::string prefix) : prefix_(std::move(prefix)) {}
  void normalize(std::string& text) const override {
    if (!text.empty()) text.insert(0, prefix_);
  }

 private:
  std::string prefix_;
};

class ByteLevelNormalizer : public Normalizer {
 public:
  void normalize(std::string& text) const override {
    std::string out;
    for (unsigned char b : text) appendUtf8(out, bytesToUnicode()[b]);
    text = std::move(out);
  }
};

class SequenceNormalizer : public Normalizer {
 public:
  explicit SequenceNormalizer(std::vector<std::unique_ptr<Normalizer>> steps)
      : steps_(std::move(steps)) {}
  void normalize(std::string& text) const override {
    for (const auto& step : steps_) step->normalize(text);
  }

 private:
  std::vector<std::unique_ptr<Normalizer>> steps_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<Normalizer>> makeNormalizer(const nlohmann::json& json) {
  if (!json.is_object() || !json.contains("type") || !json["type"].is_string()) {
    return unsupported("normalizer", json);
  }
  const std::string type = json["type"];
  if (type == "NFC") return std::make_unique<UnicodeNormalizer>(UTF8PROC_STABLE | UTF8PROC_COMPOSE);
  if (type == "NFD") {
    return std::make_unique<UnicodeNormalizer>(UTF8PROC_STABLE | UTF8PROC_DECOMPOSE);
  }
  if (type == "NFKC") {
    return std::make_unique<UnicodeNormalizer>(UTF8PROC_STABLE | UTF8PROC_COMPOSE |
                                               UTF8PROC_COMPAT);
  }
  if (type == "NFKD") {
    return std::make_unique<UnicodeNormalizer>(UTF8PROC_STABLE | UTF8PROC_DECOMPOSE |
                                               UTF8PROC_COMPAT);
  }
  if (type == "Lowercase") return std::make_unique<Lowercase>();
  if (type == "StripAccents") return std::make_unique<StripAccents>();
  if (type == "ByteLevel") return std::make_unique<ByteLevelNormalizer>();
  if (type == "Strip") {
    return std::make_unique<Strip>(jsonBool(json, "strip_left", true),
                                   jsonBool(json, "strip_right", true));
  }
  if (type == "Prepend") {
    auto prefix = jsonString(json, "prepend", "normalizer");
    if (!prefix.ok()) return prefix.status();
    return std::make_unique<Prepend>(*prefix);
  }
  if (type == "Replace") {
    auto pattern = Pattern::fromJson(json.value("pattern", nlohmann::json()), "normalizer.pattern");
    if (!pattern.ok()) return pattern.status();
    auto content = jsonString(json, "content", "normalizer");
    if (!content.ok()) return content.status();
    return std::make_unique<Replace>(std::move(*pattern), *content);
  }
  if (type == "Sequence") {
    std::vector<std::unique_ptr<Normalizer>> steps;
    auto list = json.find("normalizers");
    if (list == json.end() || !list->is_array()) {
      return absl::InvalidArgumentError("tokenizer.json: normalizer.normalizers must be a list");
    }
    for (const auto& item : *list) {
      auto step = makeNormalizer(item);
      if (!step.ok()) return step.status();
      steps.push_back(std::move(*step));
    }
    return std::make_unique<SequenceNormalizer>(std::move(steps));
  }
  return unsupported("normalizer", json);
}

}  // namespace mvc::text
