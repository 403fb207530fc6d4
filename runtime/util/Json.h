//===- Json.h - parsing JSON with a depth limit -------------------*- C++ -*-===//
//
// Every JSON a user can hand mvc (config.json, tokenizer.json, chat messages, the
// artifact's manifest) is parsed through parseJson: a document nested deeper than
// kMaxJsonDepth is refused (the parser itself is iterative, but the code that walks a
// document — tokenizer components, `tojson`, dump() — recurses), and a syntax error names
// the byte where it is.
//
//===----------------------------------------------------------------------===//
#ifndef MVC_RUNTIME_UTIL_JSON_H
#define MVC_RUNTIME_UTIL_JSON_H

#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include <nlohmann/json.hpp>

namespace mvc {

/// Deeper than any real config, tokenizer or conversation (they nest fewer than 10).
constexpr int kMaxJsonDepth = 64;

/// Parses `text` as JSON (nlohmann::json or nlohmann::ordered_json). `where` prefixes
/// errors: "WHERE: not valid JSON (byte N: ...)", "WHERE: JSON nested deeper than 64
/// levels".
template <typename JsonT = nlohmann::ordered_json>
absl::StatusOr<JsonT> parseJson(std::string_view text, const std::string &where) {
  bool tooDeep = false;
  typename JsonT::parser_callback_t limit = [&](int depth, typename JsonT::parse_event_t,
                                                JsonT &) {
    // depth counts from 0 (the top-level value): kMaxJsonDepth levels are 0 .. limit - 1.
    if (depth >= kMaxJsonDepth) tooDeep = true;
    return !tooDeep; // discard everything once too deep: the result is refused anyway
  };
  auto deepError = [&] {
    return absl::InvalidArgumentError(where + ": JSON nested deeper than " +
                                      std::to_string(kMaxJsonDepth) + " levels");
  };
  try {
    JsonT value = JsonT::parse(text.begin(), text.end(), limit, /*allow_exceptions=*/true);
    if (tooDeep) return deepError();
    return value;
  } catch (const nlohmann::json::parse_error &e) {
    if (tooDeep) return deepError();
    return absl::InvalidArgumentError(where + ": not valid JSON (byte " + std::to_string(e.byte) +
                                      ")");
  } catch (const nlohmann::json::exception &e) {
    // A number beyond double (out_of_range 406, found by tests/fuzz/manifest_fuzz.cpp).
    if (tooDeep) return deepError();
    return absl::InvalidArgumentError(where + ": not valid JSON (" + e.what() + ")");
  }
}

} // namespace mvc

#endif // MVC_RUNTIME_UTIL_JSON_H
