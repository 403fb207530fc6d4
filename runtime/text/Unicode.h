// UTF-8 and Unicode-property helpers shared by the tokenizer pipeline and the template engine.
#ifndef MVC_RUNTIME_TEXT_UNICODE_H_
#define MVC_RUNTIME_TEXT_UNICODE_H_

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

namespace mvc::text {

// Decodes one scalar value at `s[pos]`; `length` receives the number of bytes it used.
// Returns -1 (length = the ill-formed prefix to skip, at least 1) on an ill-formed sequence,
// following the "maximal subpart" rule of Unicode 3.9 / Rust's `from_utf8_lossy`.
int32_t decodeUtf8(std::string_view s, size_t pos, size_t* length);

void appendUtf8(std::string& out, uint32_t codepoint);

// Replaces each maximal ill-formed subsequence by U+FFFD (exactly what Rust's
// String::from_utf8_lossy and Python's bytes.decode(errors="replace") produce).
std::string toValidUtf8(std::string_view s);
bool isValidUtf8(std::string_view s);

// Byte length of the UTF-8 sequence starting with `lead` (1 for continuation/invalid bytes).
inline size_t utf8SequenceLength(unsigned char lead) {
  if (lead < 0xC0) return 1;
  if (lead < 0xE0) return 2;
  if (lead < 0xF0) return 3;
  return 4;
}

// Unicode properties as Rust's `char` methods define them (the HF tokenizers library is Rust).
bool isWhitespace(uint32_t c);    // White_Space
bool isAlphanumeric(uint32_t c);  // categories L* and N*
bool isNumeric(uint32_t c);       // categories Nd, Nl, No
bool isPunctuation(uint32_t c);   // ASCII punctuation or categories P*
bool isWordChar(uint32_t c);      // regex \w: L*, M*, Nd, Pc

// GPT-2's reversible byte <-> printable-code-point table used by ByteLevel components.
const std::array<uint32_t, 256>& bytesToUnicode();
// Inverse of bytesToUnicode(); -1 for code points outside the table.
int unicodeToByte(uint32_t codepoint);

}  // namespace mvc::text

#endif  // MVC_RUNTIME_TEXT_UNICODE_H_
