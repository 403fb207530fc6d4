//===- Decode.h - JPEG and PNG files to RGB, as HF's load_image sees them --===//
//
// transformers.image_utils.load_image opens a file with PIL, applies
// PIL.ImageOps.exif_transpose and then convert("RGB"). These functions do the same:
// gray is replicated, alpha is dropped (not composited), palettes are looked up, 16-bit
// gray saturates at 255 (PIL's I;16 -> L) and 16-bit color keeps the high byte.
// (The processors' own convert_to_rgb, which would composite alpha onto white, does not run
// for Gemma 3 checkpoints: their preprocessor_config.json sets do_convert_rgb to null.)
//
//===----------------------------------------------------------------------===//
#ifndef MVC_RUNTIME_VISION_DECODE_H
#define MVC_RUNTIME_VISION_DECODE_H

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "runtime/vision/Image.h"

namespace mvc::vision {

struct DecodeLimits {
  /// Images with more pixels are refused from the header, before any pixel memory is
  /// allocated. The default is PIL's MAX_IMAGE_PIXELS (its decompression-bomb warning).
  int64_t maxPixels = 89'478'485;
};

/// Decodes a JPEG or PNG held in `bytes`; `name` is only used in error messages.
absl::StatusOr<RgbImage> decodeImage(absl::Span<const uint8_t> bytes, const std::string &name,
                                     const DecodeLimits &limits = {});

/// Reads and decodes the file at `path`. Errors name the file and what is wrong with it.
absl::StatusOr<RgbImage> loadImage(const std::string &path, const DecodeLimits &limits = {});

namespace detail {
/// The codecs behind decodeImage; errors say what is wrong, decodeImage adds the name.
absl::StatusOr<RgbImage> decodeJpeg(absl::Span<const uint8_t> bytes, const DecodeLimits &limits);
absl::StatusOr<RgbImage> decodePng(absl::Span<const uint8_t> bytes, const DecodeLimits &limits);
/// Refuses zero or too many pixels; called by the codecs once the header is read.
absl::Status checkDimensions(int64_t height, int64_t width, const DecodeLimits &limits);
} // namespace detail

} // namespace mvc::vision

#endif // MVC_RUNTIME_VISION_DECODE_H
