//===- Image.h - decoded 8-bit RGB images ----------------------------------===//
//
// The one pixel format the image processors work in: what PIL's convert("RGB") yields.
//
//===----------------------------------------------------------------------===//
#ifndef MVC_RUNTIME_VISION_IMAGE_H
#define MVC_RUNTIME_VISION_IMAGE_H

#include <cstdint>
#include <vector>

namespace mvc::vision {

/// An 8-bit RGB image, rows top to bottom, pixels interleaved (HWC).
struct RgbImage {
  int64_t height = 0;
  int64_t width = 0;
  std::vector<uint8_t> pixels; // height * width * 3

  uint8_t *at(int64_t y, int64_t x) { return &pixels[(y * width + x) * 3]; }
  const uint8_t *at(int64_t y, int64_t x) const { return &pixels[(y * width + x) * 3]; }
};

} // namespace mvc::vision

#endif // MVC_RUNTIME_VISION_IMAGE_H
