//===- IncrementalDecoder.h - streaming text of generated tokens ------------===//
//
// Generated tokens arrive one by one; a byte-level or byte-fallback tokenizer may split a
// character over several of them, and some decoders treat the first token specially (strip
// a leading space). The decoder keeps the tokens since the last released piece and decodes
// that window twice, with and without the tokens not yet released; the difference is the new
// text. It is held back while it ends in U+FFFD (an incomplete UTF-8 sequence so far).
// Contract: the pieces of push() and finish() concatenate to
// tokenizer.decode(all ids, skip_special_tokens=true). A push decodes only the window (the
// last released piece's tokens and those after it), not the whole sequence.
//
//===----------------------------------------------------------------------===//
#ifndef MVC_RUNTIME_PIPELINE_INCREMENTALDECODER_H
#define MVC_RUNTIME_PIPELINE_INCREMENTALDECODER_H

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "runtime/text/Tokenizer.h"

namespace mvc {

class IncrementalDecoder {
public:
  /// `tokenizer` must outlive the decoder.
  /// With `skipSpecial` false, special tokens are text too (a reply parser reads markers
  /// such as Gemma 4's <|channel>).
  explicit IncrementalDecoder(const text::Tokenizer &tokenizer, bool skipSpecial = true)
      : tokenizer(&tokenizer), skipSpecial(skipSpecial) {}

  /// Appends `id`; returns the text it completes (empty while a character is incomplete or
  /// the token is special).
  std::string push(int32_t id);
  /// The text still held back, decoded as it is (an incomplete character becomes U+FFFD);
  /// call once, after the last push.
  std::string finish();

private:
  /// The text of ids[windowStart..] beyond that of ids[windowStart, released).
  std::string pending() const;

  const text::Tokenizer *tokenizer;
  bool skipSpecial = true;
  std::vector<int32_t> ids;
  size_t windowStart = 0; // first id of the decode window: the previously released piece
  size_t released = 0;    // ids before this are released
};

} // namespace mvc

#endif // MVC_RUNTIME_PIPELINE_INCREMENTALDECODER_H
