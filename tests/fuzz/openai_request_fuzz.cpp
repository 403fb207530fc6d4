// libFuzzer target: arbitrary bytes as the body of mvc-serve's POST /v1/chat/completions and
// /v1/completions (runtime/serving/OpenAiRequest.cpp: JSON -> internal request, the
// conversation parser and base64 images included).
#include <cstddef>
#include <cstdint>

#include "runtime/serving/OpenAiRequest.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  absl::string_view body(reinterpret_cast<const char *>(data), size);
  (void)mvc::serving::parseChatRequest(body);
  (void)mvc::serving::parseCompletionRequest(body);
  return 0;
}
