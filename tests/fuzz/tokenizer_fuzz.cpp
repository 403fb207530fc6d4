// libFuzzer target: arbitrary bytes (often invalid UTF-8) encoded and decoded by the tokenizer
// in $MVC_FUZZ_TOKENIZER; decode() must return valid UTF-8, and re-encoding its output must
// not crash either.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>

#include "runtime/text/Tokenizer.h"
#include "runtime/text/Unicode.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const mvc::text::Tokenizer* tokenizer = [] {
    const char* path = std::getenv("MVC_FUZZ_TOKENIZER");
    auto loaded = mvc::text::Tokenizer::fromFile(path ? path : "tokenizer.json");
    if (!loaded.ok()) {
      std::fprintf(stderr, "cannot load tokenizer: set MVC_FUZZ_TOKENIZER\n");
      std::abort();
    }
    return loaded->release();
  }();
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto ids = tokenizer->encode(text, true);
  std::string decoded = tokenizer->decode(ids, false);
  if (!mvc::text::isValidUtf8(decoded)) std::abort();
  if (!mvc::text::isValidUtf8(tokenizer->decode(ids, true))) std::abort();
  (void)tokenizer->encode(decoded, false);
  return 0;
}
