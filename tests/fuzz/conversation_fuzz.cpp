// libFuzzer target: arbitrary bytes as an `mvc-run --messages` file (the OpenAI-style
// conversation parser of runtime/pipeline/Conversation.cpp, base64 image parts included).
#include <cstddef>
#include <cstdint>

#include "runtime/pipeline/Conversation.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  (void)mvc::parseConversation(absl::string_view(reinterpret_cast<const char *>(data), size),
                               "fuzz.json");
  return 0;
}
