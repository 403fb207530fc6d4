// Decoders of tokenizer.json, by "type".
#include "runtime/text/Pipeline.h"
#include "runtime/text/Unicode.h"

namespace mvc::text {
namespace {

// Maps GPT-2 byte-level characters back to bytes; the joined result is read as lossy UTF-8.
// A token holding any character outside the table contributes its own UTF-8 bytes instead.
class ByteLevelDecoder : public Decoder {
 public:
  void decodeChain(std::vector<std::string>& tokens) const override {
    std::string bytes;
    for (const std::string& token : tokens) {
      size_t mark = bytes.size();
      for (size_t i = 0; i < token.size();) {
        size_t len;
        int32_t c = decodeUtf8(token, i, &len);
        int b = c < 0 ? -1 : unicodeToByte(static_cast<uint32_t>(c));
        if (b < 0) {
          bytes.resize(mark);
          bytes += token;
          break;
        }
        bytes.push_back(static_cast<char>(b));
        i += len;
      }
    }
    tokens.assign(1, toValidUtf8(bytes));
  }
};

class ReplaceDecoder : public Decoder {
 public:
  ReplaceDecoder(Pattern pattern, std::string content)
      : pattern_(std::move(pattern)), content_(std::move(content)) {}
  void decodeChain(std::vector<std::string>& tokens) const override {
    for (std::string& token : tokens) token = pattern_.replaceAll(token, content_);
  }

 private:
  Pattern pattern_;
  std::string content_;
};

// Turns runs of "<0xNN>" tokens into their UTF-8 text, or one U+FFFD per byte if invalid.
class ByteFallbackDecoder : public Decoder {
 public:
  void decodeChain(std::vector<std::string>& tokens) const override {
    std::vector<std::string> out;
    std::string pending;
    size_t pending_count = 0;
    auto flush = [&] {
      if (pending_count == 0) return;
      if (isValidUtf8(pending)) {
        out.push_back(pending);
      } else {
        for (size_t i = 0; i < pending_count; ++i) out.emplace_back("\xEF\xBF\xBD");
      }
      pending.clear();
      pending_count = 0;
    };
    for (std::string& token : tokens) {
      int byte = parseByteToken(token);
      if (byte >= 0) {
        pending.push_back(static_cast<char>(byte));
        ++pending_count;
        continue;
      }
      flush();
      out.push_back(std::move(token));
    }
    flush();
    tokens = std::move(out);
  }

 private:
  static int hexDigit(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  }
  static int parseByteToken(const std::string& token) {
    if (token.size() != 6 || token.compare(0, 3, "<0x") != 0 || token[5] != '>') return -1;
    int hi = hexDigit(token[3]), lo = hexDigit(token[4]);
    return hi < 0 || lo < 0 ? -1 : hi * 16 + lo;
  }
};

class FuseDecoder : public Decoder {
 public:
  void decodeChain(std::vector<std::string>& tokens) const override {
    std::string joined;
    for (const std::string& token : tokens) joined += token;
    tokens.assign(1, std::move(joined));
  }
};

// Removes up to `start` leading and `stop` trailing `content` characters from each token.
class StripDecoder : public Decoder {
 public:
  StripDecoder(std::string content, size_t start, size_t stop)
      : content_(std::move(content)), start_(start), stop_(stop) {}
  void decodeChain(std::vector<std::string>& tokens) const override {
    for (std::string& token : tokens) {
      size_t begin = 0, end = token.size();
      for (size_t i = 0; i < start_ && token.compare(begin, content_.size(), content_) == 0; ++i) {
        begin += content_.size();
      }
      for (size_t i = 0; i < stop_ && end >= begin + content_.size() &&
                         token.compare(end - content_.size(), content_.size(), content_) == 0;
           ++i) {
        end -= content_.size();
      }
      token = token.substr(begin, end - begin);
    }
  }

 private:
  std::string content_;
  size_t start_, stop_;
};

// Metaspace: the replacement character back to spaces, dropping the prepended one.
class MetaspaceDecoder : public Decoder {
 public:
  MetaspaceDecoder(std::string replacement, bool prepended)
      : replacement_(std::move(replacement)), prepended_(prepended) {}
  void decodeChain(std::vector<std::string>& tokens) const override {
    for (size_t i = 0; i < tokens.size(); ++i) {
      std::string out;
      const std::string& token = tokens[i];
      for (size_t pos = 0; pos < token.size();) {
        if (token.compare(pos, replacement_.size(), replacement_) == 0) {
          if (!(i == 0 && pos == 0 && prepended_)) out += ' ';
          pos += replacement_.size();
        } else {
          out += token[pos++];
        }
      }
      tokens[i] = std::move(out);
    }
  }

 private:
  std::string replacement_;
  bool prepended_;
};

class SequenceDecoder : public Decoder {
 public:
  explicit SequenceDecoder(std::vector<std::unique_ptr<Decoder>> steps)
      : steps_(std::move(steps)) {}
  void decodeChain(std::vector<std::string>& tokens) const override {
    for (const auto& step : steps_) step->decodeChain(tokens);
  }

 private:
  std::vector<std::unique_ptr<Decoder>> steps_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<Decoder>> makeDecoder(const nlohmann::json& json) {
  if (!json.is_object() || !json.contains("type") || !json["type"].is_string()) {
    return unsupported("decoder", json);
  }
  const std::string type = json["type"];
  if (type == "ByteLevel") return std::make_unique<ByteLevelDecoder>();
  if (type == "ByteFallback") return std::make_unique<ByteFallbackDecoder>();
  if (type == "Fuse") return std::make_unique<FuseDecoder>();
  if (type == "Replace") {
    auto pattern = Pattern::fromJson(json.value("pattern", nlohmann::json()), "decoder.pattern");
    if (!pattern.ok()) return pattern.status();
    auto content = jsonString(json, "content", "decoder");
    if (!content.ok()) return content.status();
    return std::make_unique<ReplaceDecoder>(std::move(*pattern), *content);
  }
  if (type == "Strip") {
    auto content = jsonString(json, "content", "decoder");
    if (!content.ok()) return content.status();
    return std::make_unique<StripDecoder>(*content, json.value("start", size_t{0}),
                                          json.value("stop", size_t{0}));
  }
  if (type == "Metaspace") {
    auto replacement = jsonString(json, "replacement", "decoder");
    if (!replacement.ok()) return replacement.status();
    bool prepended = jsonBool(json, "add_prefix_space", true);
    if (json.contains("prepend_scheme") && json["prepend_scheme"].is_string()) {
      prepended = json["prepend_scheme"] != "never";
    }
    return std::make_unique<MetaspaceDecoder>(*replacement, prepended);
  }
  if (type == "Sequence") {
    auto list = json.find("decoders");
    if (list == json.end() || !list->is_array()) {
      return absl::InvalidArgumentError("tokenizer.json: decoder.decoders must be a list");
    }
    std::vector<std::unique_ptr<Decoder>> steps;
    for (const auto& item : *list) {
      auto step = makeDecoder(item);
      if (!step.ok()) return step.status();
      steps.push_back(std::move(*step));
    }
    return std::make_unique<SequenceDecoder>(std::move(steps));
  }
  return unsupported("decoder", json);
}

}  // namespace mvc::text
