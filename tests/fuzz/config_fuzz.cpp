// libFuzzer target: arbitrary bytes as an npy file (runtime/util/Npy.cpp) and, when they
// parse as JSON (runtime/util/Json.h), as a Gemma 3 and a Llama config.json (the typed
// config readers every checkpoint goes through, GGUF imports included).
#include <cstddef>
#include <cstdint>

#include "architectures/gemma3/Gemma3Config.h"
#include "architectures/llama/LlamaConfig.h"
#include "runtime/util/Json.h"
#include "runtime/util/Npy.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  std::string_view bytes(reinterpret_cast<const char *>(data), size);
  (void)mvc::parseNpy(absl::string_view(bytes.data(), bytes.size()), "fuzz.npy");
  auto json = mvc::parseJson<mvc::OrderedJson>(bytes, "config.json");
  if (!json.ok() || !json->is_object()) return 0;
  static const mvc::OrderedJson noGeneration = mvc::OrderedJson::object();
  (void)mvc::parseGemma3TextConfig(*json, noGeneration, "config.json");
  (void)mvc::parseLlamaConfig(*json, noGeneration, "config.json");
  return 0;
}
