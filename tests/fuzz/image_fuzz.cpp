// libFuzzer target: arbitrary bytes as an image (runtime/vision: the JPEG and PNG decoders
// behind --image, EXIF orientation included) under a small pixel limit, so a hostile
// header is refused before any large allocation.
#include <cstddef>
#include <cstdint>

#include "runtime/vision/Decode.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  mvc::vision::DecodeLimits limits;
  limits.maxPixels = 1 << 20;
  (void)mvc::vision::decodeImage(absl::MakeConstSpan(data, size), "fuzz", limits);
  return 0;
}
