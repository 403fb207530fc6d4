//===- ByteSize.h - sizes on the command line ("512M") -----------*- C++ -*-===//
#ifndef MVC_RUNTIME_UTIL_BYTESIZE_H
#define MVC_RUNTIME_UTIL_BYTESIZE_H

#include <cstdint>
#include <optional>
#include <string>

#include "absl/strings/numbers.h"

namespace mvc {

/// A positive byte count, optionally with a binary suffix K, M or G ("64K", "2G"); nullopt
/// for anything else (zero, a sign, another suffix, overflow).
inline std::optional<uint64_t> parseByteSize(std::string text) {
  uint64_t scale = 1;
  const std::string suffixes = "KMG";
  if (!text.empty() && suffixes.find(text.back()) != std::string::npos) {
    scale = uint64_t{1} << (10 * (1 + suffixes.find(text.back())));
    text.pop_back();
  }
  uint64_t value = 0, bytes = 0;
  if (!absl::SimpleAtoi(text, &value) || value == 0 || text[0] == '+' ||
      __builtin_mul_overflow(value, scale, &bytes))
    return std::nullopt;
  return bytes;
}

} // namespace mvc

#endif // MVC_RUNTIME_UTIL_BYTESIZE_H
