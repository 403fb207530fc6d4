//===- JsonConstraint.h - generation held to one JSON object --------------===//
//
// OpenAI's `response_format: {"type": "json_object"}`: every token a sequence samples
// keeps its text a prefix of a JSON object (RFC 8259, the top-level value an object), and
// the end-of-sequence token is allowed exactly when the object is complete, where it is
// the only one. The sampler then draws from the model's distribution renormalized over
// the allowed tokens (their logits as they are, the others -inf).
//
// The check is a byte-level pushdown automaton (JsonState): the container stack, the
// lexical state inside strings (escapes, \u digits), numbers (RFC 8259's grammar) and the
// literals true/false/null, and at most 32 consecutive whitespace bytes. Each token's
// bytes are those the detokenizer appends mid-text (runtime/pipeline/TokenPiece.h: a
// SentencePiece word piece keeps its space). A token that holds part of a UTF-8 character
// (a byte-fallback or byte-level piece; its raw bytes are not known) can only continue a
// string, and only if the rest of it has no quote, backslash or control character;
// special tokens other than end-of-sequence are never allowed.
//
// Cost: every step checks the whole vocabulary against the state (a copy of the state per
// token, usually rejected at its first byte).
//
//===----------------------------------------------------------------------===//
#ifndef MVC_RUNTIME_PIPELINE_JSONCONSTRAINT_H
#define MVC_RUNTIME_PIPELINE_JSONCONSTRAINT_H

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/types/span.h"

namespace mvc {
namespace text {
class Tokenizer;
}

/// The state of a JSON object's text read so far.
class JsonState {
public:
  /// Reads one byte; false if no JSON object text continues this way (the state is then
  /// unspecified).
  bool feed(unsigned char c);
  bool feed(const std::string &bytes) {
    for (unsigned char c : bytes)
      if (!feed(c))
        return false;
    return true;
  }
  /// The object is complete (nothing more may follow).
  bool complete() const { return mode == Mode::Done; }
  /// Inside a string's characters (where any non-ASCII byte may come).
  bool inString() const { return mode == Mode::String; }

private:
  enum class Mode : uint8_t {
    Start,       // before the top-level object
    Value,       // a value expected (after ':' or ',' in an array)
    ArrayFirst,  // a value or ']'
    KeyOrEnd,    // a key or '}'
    Key,         // a key (after ',' in an object)
    Colon,       // ':' after a key
    After,       // ',' or the container's end after a value
    String,      // inside a string
    Escape,      // after '\'
    Unicode,     // in \uXXXX
    Number,      // inside a number
    Literal,     // inside true / false / null
    Done,        // the top-level object closed
  };
  enum class Num : uint8_t { Sign, Zero, Int, Frac0, Frac, Exp0, ExpSign, Exp };
  /// A value ended: the container's next, or Done at the top.
  void valueEnded() { mode = stack.empty() ? Mode::Done : Mode::After; }
  bool whitespace(unsigned char c);
  bool startValue(unsigned char c);

  Mode mode = Mode::Start;
  Num num = Num::Sign;
  bool key = false;       // the string is an object key
  uint8_t pending = 0;    // \u digits left, or the literal's position
  const char *literal = nullptr;
  uint8_t spaces = 0;     // consecutive whitespace bytes
  std::string stack;      // '{' and '[' of the open containers
};

/// Each token's bytes as generated text, read once from a tokenizer.
class JsonVocabulary {
public:
  static std::shared_ptr<const JsonVocabulary> build(const text::Tokenizer &tokenizer,
                                                     int64_t vocabSize,
                                                     absl::Span<const int32_t> eosTokenIds);
  enum class Kind : uint8_t { Text, StringOnly, Eos, Never };
  struct Token {
    Kind kind = Kind::Never;
    std::string bytes; // Kind::Text
  };
  std::vector<Token> tokens;
};

/// One sequence's constraint: masks logits, then follows the token sampled.
class JsonConstraint {
public:
  explicit JsonConstraint(std::shared_ptr<const JsonVocabulary> vocabulary)
      : vocabulary(std::move(vocabulary)) {}
  /// Sets the logits of every token that cannot come next to -inf. If none could (a
  /// vocabulary without the characters needed), the end-of-sequence tokens stay allowed
  /// so that the sequence ends instead of failing.
  void mask(absl::Span<float> logits) const;
  /// Follows `token` (one mask() allowed).
  absl::Status accept(int32_t token);
  const JsonState &state() const { return current; }

private:
  bool allowed(const JsonVocabulary::Token &token) const;
  std::shared_ptr<const JsonVocabulary> vocabulary;
  JsonState current;
};

} // namespace mvc

#endif // MVC_RUNTIME_PIPELINE_JSONCONSTRAINT_H
