#include "runtime/pipeline/JsonConstraint.h"

#include <algorithm>
#include <cstring>
#include <limits>

#include "absl/strings/str_cat.h"
#include "runtime/pipeline/TokenPiece.h"
#include "runtime/text/Tokenizer.h"

namespace mvc {
namespace {

constexpr uint8_t kMaxSpaces = 32;

bool isSpace(unsigned char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }
bool isDigit(unsigned char c) { return c >= '0' && c <= '9'; }
bool isHex(unsigned char c) {
  return isDigit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

/// Whether `text` is valid UTF-8 (a token that is not holds part of a character).
bool validUtf8(const std::string &text) {
  for (size_t i = 0; i < text.size();) {
    unsigned char c = static_cast<unsigned char>(text[i]);
    size_t length = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xe ? 3 : (c >> 3) == 0x1e ? 4 : 0;
    if (length == 0 || i + length > text.size())
      return false;
    for (size_t k = 1; k < length; ++k)
      if ((static_cast<unsigned char>(text[i + k]) >> 6) != 0x2)
        return false;
    i += length;
  }
  return true;
}

} // namespace

bool JsonState::whitespace(unsigned char c) {
  if (!isSpace(c)) {
    spaces = 0;
    return false;
  }
  return ++spaces <= kMaxSpaces;
}

bool JsonState::startValue(unsigned char c) {
  switch (c) {
  case '{':
    stack.push_back('{');
    mode = Mode::KeyOrEnd;
    return true;
  case '[':
    stack.push_back('[');
    mode = Mode::ArrayFirst;
    return true;
  case '"':
    mode = Mode::String;
    key = false;
    return true;
  case 't':
  case 'f':
  case 'n':
    literal = c == 't' ? "true" : c == 'f' ? "false" : "null";
    pending = 1;
    mode = Mode::Literal;
    return true;
  case '-':
    num = Num::Sign;
    mode = Mode::Number;
    return true;
  default:
    if (!isDigit(c))
      return false;
    num = c == '0' ? Num::Zero : Num::Int;
    mode = Mode::Number;
    return true;
  }
}

bool JsonState::feed(unsigned char c) {
  switch (mode) {
  case Mode::Start:
    if (isSpace(c))
      return whitespace(c);
    spaces = 0;
    if (c != '{')
      return false; // json_object: the top-level value is an object
    return startValue(c);
  case Mode::Value:
    if (whitespace(c))
      return true;
    return spaces <= kMaxSpaces && startValue(c);
  case Mode::ArrayFirst:
    if (whitespace(c))
      return true;
    if (spaces > kMaxSpaces)
      return false;
    if (c == ']') {
      stack.pop_back();
      valueEnded();
      return true;
    }
    return startValue(c);
  case Mode::KeyOrEnd:
  case Mode::Key:
    if (whitespace(c))
      return true;
    if (spaces > kMaxSpaces)
      return false;
    if (c == '}' && mode == Mode::KeyOrEnd) {
      stack.pop_back();
      valueEnded();
      return true;
    }
    if (c != '"')
      return false;
    mode = Mode::String;
    key = true;
    return true;
  case Mode::Colon:
    if (whitespace(c))
      return true;
    if (spaces > kMaxSpaces || c != ':')
      return false;
    mode = Mode::Value;
    return true;
  case Mode::After:
    if (whitespace(c))
      return true;
    if (spaces > kMaxSpaces)
      return false;
    if (c == ',') {
      mode = stack.back() == '{' ? Mode::Key : Mode::Value;
      return true;
    }
    if (c == (stack.back() == '{' ? '}' : ']')) {
      stack.pop_back();
      valueEnded();
      return true;
    }
    return false;
  case Mode::String:
    if (c == '"') {
      if (key) {
        mode = Mode::Colon;
      } else {
        valueEnded();
      }
      return true;
    }
    if (c == '\\') {
      mode = Mode::Escape;
      return true;
    }
    return c >= 0x20; // control characters must be escaped
  case Mode::Escape:
    if (c == 'u') {
      mode = Mode::Unicode;
      pending = 4;
      return true;
    }
    if (!std::strchr("\"\\/bfnrt", c) || c == 0)
      return false;
    mode = Mode::String;
    return true;
  case Mode::Unicode:
    if (!isHex(c))
      return false;
    if (--pending == 0)
      mode = Mode::String;
    return true;
  case Mode::Literal:
    if (c != static_cast<unsigned char>(literal[pending]))
      return false;
    if (literal[++pending] == '\0')
      valueEnded();
    return true;
  case Mode::Number: {
    switch (num) {
    case Num::Sign:
      if (!isDigit(c))
        return false;
      num = c == '0' ? Num::Zero : Num::Int;
      return true;
    case Num::Int:
      if (isDigit(c))
        return true;
      [[fallthrough]];
    case Num::Zero:
      if (c == '.') {
        num = Num::Frac0;
        return true;
      }
      if (c == 'e' || c == 'E') {
        num = Num::Exp0;
        return true;
      }
      break; // the number ended: c belongs to what follows
    case Num::Frac0:
      if (!isDigit(c))
        return false;
      num = Num::Frac;
      return true;
    case Num::Frac:
      if (isDigit(c))
        return true;
      if (c == 'e' || c == 'E') {
        num = Num::Exp0;
        return true;
      }
      break;
    case Num::Exp0:
      if (c == '+' || c == '-') {
        num = Num::ExpSign;
        return true;
      }
      [[fallthrough]];
    case Num::ExpSign:
      if (!isDigit(c))
        return false;
      num = Num::Exp;
      return true;
    case Num::Exp:
      if (isDigit(c))
        return true;
      break;
    }
    valueEnded(); // numbers are never top-level here: After follows
    spaces = 0;
    return feed(c);
  }
  case Mode::Done:
    return false;
  }
  return false;
}

std::shared_ptr<const JsonVocabulary> JsonVocabulary::build(const text::Tokenizer &tokenizer,
                                                           int64_t vocabSize,
                                                           absl::Span<const int32_t> eosTokenIds) {
  auto vocabulary = std::make_shared<JsonVocabulary>();
  vocabulary->tokens.resize(static_cast<size_t>(vocabSize));
  const TokenPieces pieces(tokenizer);
  for (int64_t id = 0; id < vocabSize; ++id) {
    Token &token = vocabulary->tokens[static_cast<size_t>(id)];
    const int32_t tokenId = static_cast<int32_t>(id);
    if (std::find(eosTokenIds.begin(), eosTokenIds.end(), tokenId) != eosTokenIds.end()) {
      token.kind = Kind::Eos;
      continue;
    }
    if (tokenizer.isSpecial(tokenId))
      continue; // Never
    std::string text = pieces.piece(tokenId, /*skipSpecial=*/true);
    if (text.empty())
      continue;
    if (!validUtf8(text) || text.find("\xEF\xBF\xBD") != std::string::npos) {
      // Part of a character (U+FFFD here): string content, unless the rest of it could
      // end the string or need escaping (its raw bytes are not known beyond that).
      bool plain = true;
      for (size_t i = 0; i < text.size(); ++i) {
        unsigned char c = static_cast<unsigned char>(text[i]);
        plain = plain && c != '"' && c != '\\' && c >= 0x20;
      }
      token.kind = plain ? Kind::StringOnly : Kind::Never;
      continue;
    }
    token.kind = Kind::Text;
    token.bytes = std::move(text);
  }
  return vocabulary;
}

bool JsonConstraint::allowed(const JsonVocabulary::Token &token) const {
  switch (token.kind) {
  case JsonVocabulary::Kind::Eos:
    return current.complete();
  case JsonVocabulary::Kind::StringOnly:
    return current.inString();
  case JsonVocabulary::Kind::Never:
    return false;
  case JsonVocabulary::Kind::Text: {
    if (current.complete())
      return false;
    JsonState next = current;
    return next.feed(token.bytes);
  }
  }
  return false;
}

void JsonConstraint::mask(absl::Span<float> logits) const {
  const float removed = -std::numeric_limits<float>::infinity();
  const size_t count = std::min(logits.size(), vocabulary->tokens.size());
  bool any = false;
  for (size_t id = 0; id < count; ++id) {
    if (logits[id] == removed)
      continue;
    if (allowed(vocabulary->tokens[id]))
      any = true;
    else
      logits[id] = removed;
  }
  for (size_t id = count; id < logits.size(); ++id)
    logits[id] = removed;
  if (!any) // nothing continues the object: let the sequence end
    for (size_t id = 0; id < count; ++id)
      if (vocabulary->tokens[id].kind == JsonVocabulary::Kind::Eos)
        logits[id] = 0.0f;
}

absl::Status JsonConstraint::accept(int32_t token) {
  if (token < 0 || static_cast<size_t>(token) >= vocabulary->tokens.size())
    return absl::InvalidArgumentError(absl::StrCat("json constraint: token ", token,
                                                   " outside the vocabulary"));
  const JsonVocabulary::Token &entry = vocabulary->tokens[static_cast<size_t>(token)];
  if (!allowed(entry) || (entry.kind == JsonVocabulary::Kind::Text && !current.feed(entry.bytes)))
    return absl::InternalError(absl::StrCat("json constraint: token ", token,
                                            " does not continue the JSON text"));
  return absl::OkStatus();
}

} // namespace mvc
