// libFuzzer target: arbitrary bytes as an artifact manifest (runtime/artifact/Manifest.cpp,
// the JSON reader with its depth limit, every field and expression check). Any crash,
// sanitizer report or hang is a finding; errors are fine.
#include <cstddef>
#include <cstdint>

#include "runtime/artifact/Manifest.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  (void)mvc::parseManifest(absl::string_view(reinterpret_cast<const char *>(data), size));
  return 0;
}
