//===- JsonConstraint.h - generation held to a JSON schema ----------------===//
//
// OpenAI's `response_format` `json_object` and `json_schema`: every token a sequence
// samples keeps its text a prefix of a JSON value the schema accepts (JsonSchema.h;
// json_object is the schema "any object"), and the end-of-sequence token is allowed
// exactly when the value is complete, where it is the only one. The sampler then draws
// from the model's distribution renormalized over the allowed tokens (their logits as
// they are, the others -inf).
//
// The check is a byte-level pushdown automaton (JsonState) over the schema's nodes: a
// stack of frames (objects with the declared properties seen so far, arrays with their
// item count, strings with their length, the key or enum value being matched, numbers,
// literals), RFC 8259's lexical rules, whitespace runs of at most 2 line breaks and 20
// spaces or tabs, and
// numbers of at most 19 digits per integer or fraction part and 2 exponent digits (so
// every number fits a double). The state is a small fixed-size value, so trying a byte
// costs a copy of a few frames.
//
// Each token's bytes are those the detokenizer appends mid-text (TokenPiece.h: a
// SentencePiece word piece keeps its space). A token that holds part of a UTF-8 character
// (its raw bytes are not known) can only continue a string without maxLength, and only if
// the rest of it has no quote, backslash or control character; special tokens other than
// end-of-sequence are never allowed.
//
// Masking cost: the vocabulary's bytes form a trie, walked from the state with the
// subtrees of refused prefixes skipped (most of the vocabulary is refused at its first
// byte in structural positions). Inside a free string or key, where most tokens are
// allowed, the tokens of plain string bytes are decided from their precomputed character
// counts and only the others (quotes, backslashes) are walked.
//
//===----------------------------------------------------------------------===//
#ifndef MVC_RUNTIME_PIPELINE_JSONCONSTRAINT_H
#define MVC_RUNTIME_PIPELINE_JSONCONSTRAINT_H

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/types/span.h"
#include "runtime/pipeline/JsonSchema.h"

namespace mvc {
namespace text {
class Tokenizer;
}

/// Where a UTF-8 sequence stands (JsonConstraint.cpp).
struct Utf8 {
  uint8_t pending = 0, min = 0x80, max = 0xBF;
  bool next(unsigned char c);
};

/// The state of a JSON text read so far against a schema.
class JsonState {
public:
  /// An object with any members (json_object).
  JsonState();
  /// `schema` must outlive the state and its copies.
  explicit JsonState(const JsonSchema &schema) : schema(&schema) {}
  JsonState(const JsonState &other) { *this = other; }
  JsonState &operator=(const JsonState &other);

  /// Reads one byte; false if no accepted text continues this way (the state is then
  /// unspecified).
  bool feed(unsigned char c);
  bool feed(const std::string &bytes) {
    for (unsigned char c : bytes)
      if (!feed(c))
        return false;
    return true;
  }
  /// The value is complete (the text may end here).
  bool complete() const;
  /// Inside a string's characters or an object key where any key may come: every token
  /// of plain string bytes may follow if it has at most `room` characters.
  bool inFreeText(int64_t *room) const;
  /// A token holding part of a UTF-8 character may follow (a string without maxLength).
  bool partialCharacterAllowed() const;

private:
  enum class Kind : uint8_t { Object, Array, String, Key, Number, Literal, Enum };
  struct Frame {
    int32_t node = 0;
    Kind kind = Kind::Object;
    uint8_t phase = 0;
    int32_t count = 0;        // array items, string characters, \u digits left
    int32_t lo = 0, hi = 0;   // key / enum: the candidates with the bytes read so far
    int32_t pos = 0;          // key / enum / literal: bytes read
    int32_t property = 0;     // object: the declared property being read (-1: another)
    uint64_t seen = 0;        // object: declared properties present
    Utf8 utf8;                // string / key: the UTF-8 sequence being read
  };

  const JsonSchemaNode &node(const Frame &frame) const { return schema->node(frame.node); }
  bool push(const Frame &frame);
  /// A value of `node` opened with `open` frames below it can be finished within
  /// JsonSchema::kMaxDepth frames.
  bool fits(int32_t index, int open) const {
    return open + schema->node(index).minFrames <= JsonSchema::kMaxDepth;
  }
  /// One whitespace byte between tokens, within the limits of a run.
  bool whitespace(unsigned char c);
  bool startValue(int32_t node, unsigned char c);
  /// The top frame (a number or an enum value) may end before `c`.
  bool endsBefore(const Frame &frame) const;
  bool feedObject(Frame &frame, unsigned char c);
  bool feedArray(Frame &frame, unsigned char c);
  bool feedString(Frame &frame, unsigned char c);
  bool feedKey(Frame &frame, unsigned char c);
  bool feedNumber(Frame &frame, unsigned char c);
  bool feedEnum(Frame &frame, unsigned char c);
  /// Pops the top frame: its value ended.
  void pop() {
    if (--depth == 0)
      done = true;
  }

  const JsonSchema *schema;
  std::array<Frame, JsonSchema::kMaxDepth> frames;
  int depth = 0;
  bool done = false;
  uint8_t lineBreaks = 0, blanks = 0; // in the current run of whitespace
};

/// Each token's bytes as generated text, read once from a tokenizer, and the trie the
/// masks walk.
class JsonVocabulary {
public:
  static std::shared_ptr<const JsonVocabulary> build(const text::Tokenizer &tokenizer,
                                                     int64_t vocabSize,
                                                     absl::Span<const int32_t> eosTokenIds);
  enum class Kind : uint8_t { Text, StringOnly, Eos, Never };
  struct Token {
    Kind kind = Kind::Never;
    std::string bytes; // Kind::Text
    /// Characters, if every byte is plain string content (no quote, backslash or control
    /// byte); -1 otherwise.
    int32_t plainChars = -1;
  };
  std::vector<Token> tokens;

  /// The Text tokens' bytes as a trie: node 0 is the root (no byte).
  struct TrieNode {
    uint32_t childBegin = 0, childEnd = 0; // children, contiguous
    uint32_t tokenBegin = 0, tokenEnd = 0; // tokenIds of the tokens that end here
    unsigned char byte = 0;
  };
  std::vector<TrieNode> trie;
  std::vector<int32_t> tokenIds;
  /// Text tokens that are not plain (plainChars -1).
  std::vector<int32_t> structural;
};

/// One sequence's constraint: masks logits, then follows the token sampled.
class JsonConstraint {
public:
  explicit JsonConstraint(std::shared_ptr<const JsonVocabulary> vocabulary,
                          std::shared_ptr<const JsonSchema> schema = JsonSchema::anyObject())
      : vocabulary(std::move(vocabulary)), schema(std::move(schema)), current(*this->schema) {}
  /// Sets the logits of every token that cannot come next to -inf. If none could (a
  /// vocabulary without the characters needed), the end-of-sequence tokens stay allowed
  /// so that the sequence ends instead of failing.
  void mask(absl::Span<float> logits) const;
  /// Which tokens may come next (1 allowed), by the same rules as mask().
  std::vector<uint8_t> allowedTokens() const;
  /// Follows `token` (one mask() allowed).
  absl::Status accept(int32_t token);
  const JsonState &state() const { return current; }

private:
  void walk(const JsonState &state, uint32_t node, std::vector<uint8_t> &allowed) const;
  std::shared_ptr<const JsonVocabulary> vocabulary;
  std::shared_ptr<const JsonSchema> schema;
  JsonState current;
};

} // namespace mvc

#endif // MVC_RUNTIME_PIPELINE_JSONCONSTRAINT_H
