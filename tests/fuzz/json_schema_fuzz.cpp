// libFuzzer target: a JSON schema (the input's first line) compiled for constrained
// decoding (runtime/pipeline/JsonSchema.cpp), then the rest of the input fed byte by byte
// to its automaton (JsonConstraint.cpp). Any text the automaton calls complete must be
// JSON a strict parser accepts: a finding otherwise.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "nlohmann/json.hpp"
#include "runtime/pipeline/JsonConstraint.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  const std::string input(reinterpret_cast<const char *>(data), size);
  const size_t newline = input.find('\n');
  const std::string schemaText = input.substr(0, newline);
  const std::string text = newline == std::string::npos ? "" : input.substr(newline + 1);
  nlohmann::json schema = nlohmann::json::parse(schemaText, nullptr, /*allow_exceptions=*/false);
  if (schema.is_discarded())
    return 0;
  absl::StatusOr<std::shared_ptr<const mvc::JsonSchema>> compiled = mvc::JsonSchema::compile(schema);
  if (!compiled.ok())
    return 0;
  mvc::JsonState state(**compiled);
  size_t read = 0;
  while (read < text.size() && state.feed(static_cast<unsigned char>(text[read])))
    ++read;
  if (read == text.size() && state.complete() && !nlohmann::json::accept(text))
    abort(); // the automaton completed a text that is not JSON
  return 0;
}
