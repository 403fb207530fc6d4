//===- IncrementalDecoder.cpp ---------------------------------------------===//
#include "runtime/pipeline/IncrementalDecoder.h"

#include "absl/strings/match.h"
#include "absl/types/span.h"

namespace mvc {

namespace {

constexpr char kReplacementCharacter[] = "\xEF\xBF\xBD"; // U+FFFD

} // namespace

std::string IncrementalDecoder::pending() const {
  absl::Span<const int32_t> window = absl::MakeConstSpan(ids).subspan(windowStart);
  std::string before = tokenizer->decode(window.first(released - windowStart), skipSpecial);
  std::string after = tokenizer->decode(window, skipSpecial);
  // Decoding more tokens only appends text; a shorter or equal text has nothing new.
  return after.size() > before.size() ? after.substr(before.size()) : std::string();
}

std::string IncrementalDecoder::push(int32_t id) {
  ids.push_back(id);
  std::string text = pending();
  if (text.empty() || absl::EndsWith(text, kReplacementCharacter))
    return std::string();
  windowStart = released;
  released = ids.size();
  return text;
}

std::string IncrementalDecoder::finish() {
  std::string text = pending();
  windowStart = released = ids.size();
  return text;
}

} // namespace mvc
