// A compiled PCRE2 pattern (UTF + UCP, JIT when available) with find-all over valid UTF-8.
#ifndef MVC_RUNTIME_TEXT_REGEX_H_
#define MVC_RUNTIME_TEXT_REGEX_H_

#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"

namespace mvc::text {

class Regex {
 public:
  // `pattern` uses the Oniguruma/Rust syntax subset HF tokenizer.json files use, which PCRE2
  // accepts unchanged (\p{L}, look-ahead, (?i:...)).
  static absl::StatusOr<std::unique_ptr<Regex>> compile(std::string_view pattern);
  ~Regex();

  // Byte ranges [begin, end) of successive non-overlapping matches; `text` must be valid UTF-8.
  std::vector<std::pair<size_t, size_t>> findAll(std::string_view text) const;

 private:
  struct Impl;
  explicit Regex(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace mvc::text

#endif  // MVC_RUNTIME_TEXT_REGEX_H_
