// libFuzzer target: arbitrary bytes as a chat template, rendered with a small conversation
// under tight limits. Any crash, sanitizer report or hang is a finding; errors are fine.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "runtime/text/ChatTemplate.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  mvc::text::jinja::Limits limits;
  limits.max_steps = 20000;
  limits.max_output_bytes = 1 << 16;
  auto chat = mvc::text::ChatTemplate::parse(
      std::string_view(reinterpret_cast<const char*>(data), size), limits);
  if (!chat.ok()) return 0;
  static const auto input = nlohmann::ordered_json::parse(R"({
    "messages": [{"role": "system", "content": "be brief"}, {"role": "user", "content": "hi"},
                 {"role": "assistant", "content": "<think>x</think>ok", "tool_calls": [
                   {"function": {"name": "f", "arguments": {"a": 1, "b": [true, null, 1.5]}}}]}],
    "tools": [{"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}],
    "add_generation_prompt": true})");
  static const auto specials = nlohmann::ordered_json::parse(R"({"bos_token": "<s>", "eos_token": "</s>"})");
  (void)chat->apply(input, specials, std::tm{});
  return 0;
}
