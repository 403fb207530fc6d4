#include "runtime/pipeline/JsonConstraint.h"

#include <algorithm>
#include <cstring>
#include <limits>

#include "absl/strings/str_cat.h"
#include "runtime/pipeline/TokenPiece.h"
#include "runtime/text/Tokenizer.h"

namespace mvc {
namespace {

// Whitespace between tokens: at most 2 line breaks (\n or \r) and 20 spaces or tabs in a
// row, enough for pretty-printed JSON and little room for a model to stall in.
constexpr uint8_t kMaxLineBreaks = 2;
constexpr uint8_t kMaxBlanks = 20;
constexpr int32_t kMaxNumberDigits = 19; // per integer or fraction part
constexpr int32_t kMaxExponentDigits = 2;

bool isSpace(unsigned char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }
bool isDigit(unsigned char c) { return c >= '0' && c <= '9'; }
bool isHex(unsigned char c) {
  return isDigit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

/// Whether `text` is valid UTF-8 (a token that is not holds part of a character).
bool validUtf8(const std::string &text) {
  Utf8 state;
  for (unsigned char c : text)
    if (!state.next(c))
      return false;
  return state.pending == 0;
}

} // namespace

/// RFC 3629: no overlong forms, no surrogates, nothing above U+10FFFF, as strict parsers
/// check it.
bool Utf8::next(unsigned char c) {
  if (pending > 0) {
    if (c < min || c > max)
      return false;
    --pending;
    min = 0x80;
    max = 0xBF;
    return true;
  }
  if (c < 0x80)
    return true;
  if (c >= 0xC2 && c <= 0xDF) {
    pending = 1;
  } else if (c >= 0xE0 && c <= 0xEF) {
    pending = 2;
    min = c == 0xE0 ? 0xA0 : 0x80;
    max = c == 0xED ? 0x9F : 0xBF;
  } else if (c >= 0xF0 && c <= 0xF4) {
    pending = 3;
    min = c == 0xF0 ? 0x90 : 0x80;
    max = c == 0xF4 ? 0x8F : 0xBF;
  } else {
    return false;
  }
  return true;
}

namespace {
// Phases of the frames.
enum ObjectPhase : uint8_t { KeyOrEnd, Key, Colon, Value, After };
enum ArrayPhase : uint8_t { First, Item, ItemAfter };
enum StringPhase : uint8_t { Chars, Escape, Unicode, PairBackslash, PairU };
enum NumberPhase : uint8_t { Sign, Zero, Int, Frac0, Frac, Exp0, ExpSign, Exp };
constexpr const char *kLiterals[] = {"true", "false", "null"};
using Node = JsonSchemaNode;
} // namespace

JsonState::JsonState() : schema(JsonSchema::anyObject().get()) {}

JsonState &JsonState::operator=(const JsonState &other) {
  schema = other.schema;
  depth = other.depth;
  done = other.done;
  lineBreaks = other.lineBreaks;
  blanks = other.blanks;
  std::copy(other.frames.begin(), other.frames.begin() + depth, frames.begin());
  return *this;
}

bool JsonState::push(const Frame &frame) {
  if (depth == JsonSchema::kMaxDepth)
    return false;
  frames[static_cast<size_t>(depth++)] = frame;
  return true;
}

bool JsonState::startValue(int32_t index, unsigned char c) {
  const Node &n = schema->node(index);
  if (!n.alternatives.empty()) {
    // anyOf: the alternative for the value's JSON type (their types do not overlap).
    const uint8_t type = JsonSchema::typeOfFirstByte(c);
    for (int32_t alternative : n.alternatives)
      if (schema->node(alternative).firstTypes & type)
        return startValue(alternative, c);
    return false;
  }
  Frame frame;
  frame.node = index;
  if (!n.values.empty()) {
    frame.kind = Kind::Enum;
    frame.hi = static_cast<int32_t>(n.values.size());
    return push(frame) && feedEnum(frames[static_cast<size_t>(depth - 1)], c);
  }
  switch (c) {
  case '{':
    frame.kind = Kind::Object;
    frame.phase = KeyOrEnd;
    // Only where the object can be finished within the frames left.
    return (n.types & Node::kObject) && depth + n.minObjectFrames <= JsonSchema::kMaxDepth &&
           push(frame);
  case '[':
    frame.kind = Kind::Array;
    frame.phase = First;
    return (n.types & Node::kArray) && depth + n.minArrayFrames <= JsonSchema::kMaxDepth &&
           push(frame);
  case '"':
    frame.kind = Kind::String;
    frame.phase = Chars;
    return (n.types & Node::kString) && push(frame);
  case 't':
  case 'f':
  case 'n':
    frame.kind = Kind::Literal;
    frame.count = c == 't' ? 0 : c == 'f' ? 1 : 2;
    frame.pos = 1;
    return (n.types & (c == 'n' ? Node::kNull : Node::kBoolean)) && push(frame);
  default:
    if (c != '-' && !isDigit(c))
      return false;
    frame.kind = Kind::Number;
    frame.phase = c == '-' ? Sign : c == '0' ? Zero : Int;
    frame.count = c == '-' ? 0 : 1;
    return (n.types & (Node::kNumber | Node::kInteger)) && push(frame);
  }
}

bool JsonState::endsBefore(const Frame &frame) const {
  if (frame.kind == Kind::Number)
    return frame.phase == Zero || frame.phase == Int || frame.phase == Frac || frame.phase == Exp;
  if (frame.kind == Kind::Enum)
    return frame.lo < frame.hi &&
           node(frame).values[static_cast<size_t>(frame.lo)].size() ==
               static_cast<size_t>(frame.pos);
  return false;
}

bool JsonState::complete() const {
  if (depth == 0)
    return done;
  return depth == 1 && endsBefore(frames[0]);
}

bool JsonState::inFreeText(int64_t *room) const {
  if (depth == 0)
    return false;
  const Frame &top = frames[static_cast<size_t>(depth - 1)];
  if (top.utf8.pending != 0)
    return false;
  if (top.kind == Kind::String && top.phase == Chars) {
    const int64_t max = node(top).maxLength;
    *room = max == Node::kUnbounded ? Node::kUnbounded : max - top.count;
    return true;
  }
  if (top.kind == Kind::Key && node(top).additional != Node::kNone) {
    *room = Node::kUnbounded;
    return true;
  }
  return false;
}

bool JsonState::partialCharacterAllowed() const {
  if (depth == 0)
    return false;
  const Frame &top = frames[static_cast<size_t>(depth - 1)];
  return top.kind == Kind::String && top.phase == Chars && top.utf8.pending == 0 &&
         node(top).maxLength == Node::kUnbounded;
}

bool JsonState::feedObject(Frame &frame, unsigned char c) {
  const Node &n = node(frame);
  // Another key may come: an undeclared one, or a declared one not yet present, whose
  // value fits in the frames left (values open beside this object's frame).
  bool keyPossible = n.additional != Node::kNone && fits(n.additional, depth);
  for (size_t k = 0; k < n.propertyNames.size() && !keyPossible; ++k)
    keyPossible = !(frame.seen >> k & 1) && fits(n.propertyNodes[k], depth);
  const bool endPossible = (frame.seen & n.required) == n.required;
  switch (frame.phase) {
  case KeyOrEnd:
  case Key:
    if (c == '}' && frame.phase == KeyOrEnd && endPossible) {
      pop();
      return true;
    }
    if (c != '"' || !keyPossible)
      return false;
    frame.phase = Colon;
    {
      Frame key;
      key.node = frame.node;
      key.kind = Kind::Key;
      key.hi = static_cast<int32_t>(n.propertyNames.size());
      return push(key);
    }
  case Colon:
    if (c != ':')
      return false;
    frame.phase = Value;
    return true;
  case Value:
    frame.phase = After;
    return startValue(frame.property >= 0 ? n.propertyNodes[static_cast<size_t>(frame.property)]
                                          : n.additional,
                      c);
  default: // After
    if (c == ',' && keyPossible) {
      frame.phase = Key;
      return true;
    }
    if (c == '}' && endPossible) {
      pop();
      return true;
    }
    return false;
  }
}

bool JsonState::feedKey(Frame &frame, unsigned char c) {
  const Node &n = node(frame);
  Frame &object = frames[static_cast<size_t>(depth - 2)];
  if (c == '"' && frame.utf8.pending == 0) {
    const bool exact = frame.lo < frame.hi &&
                       n.propertyNames[static_cast<size_t>(frame.lo)].size() ==
                           static_cast<size_t>(frame.pos);
    const int objectDepth = depth - 1;
    if (exact) {
      const uint64_t bit = uint64_t{1} << frame.lo;
      if (object.seen & bit || !fits(n.propertyNodes[static_cast<size_t>(frame.lo)], objectDepth))
        return false; // a duplicate key, or a value with no room
      object.seen |= bit;
      object.property = frame.lo;
    } else {
      if (n.additional == Node::kNone || !fits(n.additional, objectDepth))
        return false;
      object.property = -1;
    }
    pop();
    return true;
  }
  if (c == '\\' || c < 0x20 || !frame.utf8.next(c))
    return false; // declared names need no escapes; other keys are written without
  // The declared names that continue this way (a contiguous range: they are sorted).
  int32_t lo = frame.hi, hi = frame.hi;
  for (int32_t k = frame.lo; k < frame.hi; ++k) {
    const std::string &name = n.propertyNames[static_cast<size_t>(k)];
    if (name.size() > static_cast<size_t>(frame.pos) &&
        static_cast<unsigned char>(name[static_cast<size_t>(frame.pos)]) == c) {
      lo = std::min(lo, k);
      hi = k + 1;
    }
  }
  frame.lo = lo;
  frame.hi = lo < hi ? hi : lo;
  ++frame.pos;
  if (n.additional != Node::kNone && fits(n.additional, depth - 1))
    return true;
  for (int32_t k = frame.lo; k < frame.hi; ++k)
    if (!(object.seen & (uint64_t{1} << k)) &&
        fits(n.propertyNodes[static_cast<size_t>(k)], depth - 1))
      return true;
  return false; // only names already present (or with no room), or none, continue this way
}

bool JsonState::feedArray(Frame &frame, unsigned char c) {
  const Node &n = node(frame);
  switch (frame.phase) {
  case First:
    if (c == ']' && n.minItems == 0) {
      pop();
      return true;
    }
    if (n.maxItems == 0 || !fits(n.items, depth))
      return false;
    frame.count = 1;
    frame.phase = ItemAfter;
    return startValue(n.items, c);
  case Item:
    ++frame.count;
    frame.phase = ItemAfter;
    return startValue(n.items, c);
  default: // ItemAfter
    if (c == ',' && frame.count < n.maxItems && fits(n.items, depth)) {
      frame.phase = Item;
      return true;
    }
    if (c == ']' && frame.count >= n.minItems) {
      pop();
      return true;
    }
    return false;
  }
}

bool JsonState::feedString(Frame &frame, unsigned char c) {
  const Node &n = node(frame);
  switch (frame.phase) {
  case Chars: {
    if (frame.utf8.pending == 0 && c == '"') {
      if (frame.count < n.minLength)
        return false;
      pop();
      return true;
    }
    if (c < 0x20 || !frame.utf8.next(c))
      return false; // control characters must be escaped; UTF-8 must be valid
    if ((c & 0xC0) != 0x80) { // a character starts (continuation bytes do not count)
      if (frame.count >= n.maxLength)
        return false;
      ++frame.count;
    }
    if (c == '\\')
      frame.phase = Escape;
    return true;
  }
  case Escape:
    if (c == 'u') {
      // \u escapes (surrogate pairs are one character) only where no length is counted.
      if (n.minLength > 0 || n.maxLength != Node::kUnbounded)
        return false;
      frame.phase = Unicode;
      frame.pos = 4;
      frame.lo = 0;
      return true;
    }
    if (c == 0 || !std::strchr("\"\\/bfnrt", c))
      return false;
    frame.phase = Chars;
    return true;
  case PairBackslash: // a high surrogate's \uXXXX needs a low one next
    if (c != '\\')
      return false;
    frame.phase = PairU;
    return true;
  case PairU:
    if (c != 'u')
      return false;
    frame.phase = Unicode;
    frame.pos = 4;
    frame.lo = 0;
    return true;
  default: { // Unicode: lo accumulates the code unit, hi is 1 after a high surrogate
    if (!isHex(c))
      return false;
    frame.lo = frame.lo * 16 + (isDigit(c) ? c - '0' : (c | 0x20) - 'a' + 10);
    if (--frame.pos > 0)
      return true;
    const bool high = frame.lo >= 0xD800 && frame.lo <= 0xDBFF;
    const bool low = frame.lo >= 0xDC00 && frame.lo <= 0xDFFF;
    if (frame.hi == 1) { // the second half of a pair
      if (!low)
        return false;
      frame.hi = 0;
      frame.phase = Chars;
      return true;
    }
    if (low)
      return false; // a low surrogate alone
    frame.hi = high ? 1 : 0;
    frame.phase = high ? PairBackslash : Chars;
    return true;
  }
  }
}

bool JsonState::feedNumber(Frame &frame, unsigned char c) {
  // Digits per part are bounded (kMaxNumberDigits, kMaxExponentDigits) so that every number
  // fits a double: parsers such as nlohmann::json refuse 1e400.
  const bool integer = !(node(frame).types & Node::kNumber);
  auto digit = [&](int32_t limit) { return isDigit(c) && ++frame.count <= limit; };
  switch (frame.phase) {
  case Sign:
    if (!isDigit(c))
      return false;
    frame.phase = c == '0' ? Zero : Int;
    frame.count = 1;
    return true;
  case Int:
    if (isDigit(c)) // integers stay within int64 (18 digits) where the schema wants one
      return digit(integer ? kMaxNumberDigits - 1 : kMaxNumberDigits);
    [[fallthrough]];
  case Zero:
    if (c == '.' && !integer) {
      frame.phase = Frac0;
      frame.count = 0;
      return true;
    }
    if ((c == 'e' || c == 'E') && !integer) {
      frame.phase = Exp0;
      frame.count = 0;
      return true;
    }
    break; // the number ended: c belongs to what follows
  case Frac0:
    if (!digit(kMaxNumberDigits))
      return false;
    frame.phase = Frac;
    return true;
  case Frac:
    if (isDigit(c))
      return digit(kMaxNumberDigits);
    if (c == 'e' || c == 'E') {
      frame.phase = Exp0;
      frame.count = 0;
      return true;
    }
    break;
  case Exp0:
    if (c == '+' || c == '-') {
      frame.phase = ExpSign;
      return true;
    }
    [[fallthrough]];
  case ExpSign:
    if (!digit(kMaxExponentDigits))
      return false;
    frame.phase = Exp;
    return true;
  default: // Exp
    if (isDigit(c))
      return digit(kMaxExponentDigits);
    break;
  }
  pop();
  return feed(c);
}

bool JsonState::feedEnum(Frame &frame, unsigned char c) {
  const std::vector<std::string> &values = node(frame).values;
  int32_t lo = frame.hi, hi = frame.hi;
  for (int32_t k = frame.lo; k < frame.hi; ++k) {
    const std::string &value = values[static_cast<size_t>(k)];
    if (value.size() > static_cast<size_t>(frame.pos) &&
        static_cast<unsigned char>(value[static_cast<size_t>(frame.pos)]) == c) {
      lo = std::min(lo, k);
      hi = k + 1;
    }
  }
  if (lo < hi) {
    frame.lo = lo;
    frame.hi = hi;
    ++frame.pos;
    return true;
  }
  if (!endsBefore(frame))
    return false;
  pop();
  return feed(c);
}

bool JsonState::whitespace(unsigned char c) {
  if (c == '\n' || c == '\r')
    return ++lineBreaks <= kMaxLineBreaks;
  return ++blanks <= kMaxBlanks;
}

bool JsonState::feed(unsigned char c) {
  if (!isSpace(c))
    lineBreaks = blanks = 0;
  if (depth == 0) {
    if (done)
      return false;
    if (isSpace(c))
      return whitespace(c);
    return startValue(schema->root(), c);
  }
  Frame &top = frames[static_cast<size_t>(depth - 1)];
  switch (top.kind) {
  case Kind::Object:
  case Kind::Array:
    // Whitespace may stand between any two tokens of a container.
    if (isSpace(c))
      return whitespace(c);
    return top.kind == Kind::Object ? feedObject(top, c) : feedArray(top, c);
  case Kind::String:
    return feedString(top, c);
  case Kind::Key:
    return feedKey(top, c);
  case Kind::Number:
    return feedNumber(top, c);
  case Kind::Enum:
    return feedEnum(top, c);
  case Kind::Literal: {
    const char *literal = kLiterals[top.count];
    if (c != static_cast<unsigned char>(literal[top.pos]))
      return false;
    if (literal[++top.pos] == '\0')
      pop();
    return true;
  }
  }
  return false;
}

namespace {

/// Characters of `bytes` if every byte is plain string content, else -1.
int32_t plainCharacters(const std::string &bytes) {
  int32_t chars = 0;
  for (unsigned char c : bytes) {
    if (c == '"' || c == '\\' || c < 0x20)
      return -1;
    chars += (c & 0xC0) != 0x80;
  }
  return chars;
}

/// The trie of the Text tokens' bytes, built breadth-first so each node's children are
/// contiguous.
void buildTrie(JsonVocabulary &vocabulary) {
  std::vector<int32_t> order;
  for (size_t id = 0; id < vocabulary.tokens.size(); ++id)
    if (vocabulary.tokens[id].kind == JsonVocabulary::Kind::Text)
      order.push_back(static_cast<int32_t>(id));
  auto bytesOf = [&](int32_t id) -> const std::string & {
    return vocabulary.tokens[static_cast<size_t>(id)].bytes;
  };
  std::sort(order.begin(), order.end(),
            [&](int32_t a, int32_t b) { return bytesOf(a) < bytesOf(b); });
  struct Pending {
    uint32_t node;
    size_t lo, hi, depth;
  };
  std::vector<Pending> queue{{0, 0, order.size(), 0}};
  vocabulary.trie.assign(1, {});
  for (size_t head = 0; head < queue.size(); ++head) {
    const Pending at = queue[head];
    size_t i = at.lo;
    vocabulary.trie[at.node].tokenBegin = static_cast<uint32_t>(vocabulary.tokenIds.size());
    for (; i < at.hi && bytesOf(order[i]).size() == at.depth; ++i)
      vocabulary.tokenIds.push_back(order[i]); // ends here (sorted first)
    vocabulary.trie[at.node].tokenEnd = static_cast<uint32_t>(vocabulary.tokenIds.size());
    vocabulary.trie[at.node].childBegin = static_cast<uint32_t>(vocabulary.trie.size());
    while (i < at.hi) {
      const char byte = bytesOf(order[i])[at.depth];
      size_t j = i;
      while (j < at.hi && bytesOf(order[j])[at.depth] == byte)
        ++j;
      JsonVocabulary::TrieNode child;
      child.byte = static_cast<unsigned char>(byte);
      queue.push_back({static_cast<uint32_t>(vocabulary.trie.size()), i, j, at.depth + 1});
      vocabulary.trie.push_back(child);
      i = j;
    }
    vocabulary.trie[at.node].childEnd = static_cast<uint32_t>(vocabulary.trie.size());
  }
}

} // namespace

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
      token.kind = plainCharacters(text) >= 0 ? Kind::StringOnly : Kind::Never;
      continue;
    }
    token.kind = Kind::Text;
    token.plainChars = plainCharacters(text);
    if (token.plainChars < 0)
      vocabulary->structural.push_back(tokenId);
    token.bytes = std::move(text);
  }
  buildTrie(*vocabulary);
  return vocabulary;
}

void JsonConstraint::walk(const JsonState &state, uint32_t node,
                          std::vector<uint8_t> &allowed) const {
  const JsonVocabulary::TrieNode &at = vocabulary->trie[node];
  for (uint32_t child = at.childBegin; child < at.childEnd; ++child) {
    const JsonVocabulary::TrieNode &next = vocabulary->trie[child];
    JsonState after = state;
    if (!after.feed(next.byte))
      continue; // no token under this prefix can follow
    for (uint32_t t = next.tokenBegin; t < next.tokenEnd; ++t)
      allowed[static_cast<size_t>(vocabulary->tokenIds[t])] = 1;
    walk(after, child, allowed);
  }
}

std::vector<uint8_t> JsonConstraint::allowedTokens() const {
  const std::vector<JsonVocabulary::Token> &tokens = vocabulary->tokens;
  std::vector<uint8_t> allowed(tokens.size(), 0);
  const bool complete = current.complete();
  const bool partial = current.partialCharacterAllowed();
  for (size_t id = 0; id < tokens.size(); ++id) {
    if (tokens[id].kind == JsonVocabulary::Kind::Eos)
      allowed[id] = complete;
    else if (tokens[id].kind == JsonVocabulary::Kind::StringOnly)
      allowed[id] = partial;
  }
  int64_t room = 0;
  if (current.inFreeText(&room)) {
    // Plain string bytes only add characters here; the other tokens are tried one by one.
    for (size_t id = 0; id < tokens.size(); ++id)
      if (tokens[id].kind == JsonVocabulary::Kind::Text && tokens[id].plainChars >= 0)
        allowed[id] = tokens[id].plainChars <= room;
    for (int32_t id : vocabulary->structural) {
      JsonState after = current;
      allowed[static_cast<size_t>(id)] = after.feed(tokens[static_cast<size_t>(id)].bytes);
    }
  } else {
    walk(current, 0, allowed);
  }
  return allowed;
}

void JsonConstraint::mask(absl::Span<float> logits) const {
  const float removed = -std::numeric_limits<float>::infinity();
  const std::vector<uint8_t> allowed = allowedTokens();
  const size_t count = std::min(logits.size(), allowed.size());
  bool any = false;
  for (size_t id = 0; id < count; ++id) {
    if (logits[id] == removed)
      continue;
    if (allowed[id])
      any = true;
    else
      logits[id] = removed;
  }
  for (size_t id = count; id < logits.size(); ++id)
    logits[id] = removed;
  if (!any) // nothing continues the value: let the sequence end
    for (size_t id = 0; id < count; ++id)
      if (vocabulary->tokens[id].kind == JsonVocabulary::Kind::Eos)
        logits[id] = 0.0f;
}

absl::Status JsonConstraint::accept(int32_t token) {
  if (token < 0 || static_cast<size_t>(token) >= vocabulary->tokens.size())
    return absl::InvalidArgumentError(absl::StrCat("json constraint: token ", token,
                                                   " outside the vocabulary"));
  const JsonVocabulary::Token &entry = vocabulary->tokens[static_cast<size_t>(token)];
  bool followed = false;
  switch (entry.kind) {
  case JsonVocabulary::Kind::Eos: {
    // Complete, or mask()'s fallback: nothing else could follow (a vocabulary without
    // the characters needed), so the sequence ends rather than fails.
    followed = current.complete();
    if (!followed) {
      const std::vector<uint8_t> allowed = allowedTokens();
      followed = true;
      for (size_t id = 0; id < allowed.size() && followed; ++id)
        followed = !allowed[id] || vocabulary->tokens[id].kind == JsonVocabulary::Kind::Eos;
    }
    break;
  }
  case JsonVocabulary::Kind::StringOnly:
    followed = current.partialCharacterAllowed(); // counts no character (safe for minLength)
    break;
  case JsonVocabulary::Kind::Never:
    break;
  case JsonVocabulary::Kind::Text: {
    JsonState after = current;
    followed = after.feed(entry.bytes);
    if (followed)
      current = after;
    break;
  }
  }
  if (!followed)
    return absl::InternalError(absl::StrCat("json constraint: token ", token,
                                            " does not continue the JSON text"));
  return absl::OkStatus();
}

} // namespace mvc
