//===- Exif.h - EXIF orientation, applied as PIL.ImageOps.exif_transpose ---===//
#ifndef MVC_RUNTIME_VISION_EXIF_H
#define MVC_RUNTIME_VISION_EXIF_H

#include <cstdint>

#include "absl/types/span.h"
#include "runtime/vision/Image.h"

namespace mvc::vision {

/// The Orientation tag (0x0112, 1..8) of IFD0 in the payload of a JPEG APP1 segment
/// ("Exif\0\0" + TIFF); 1 (as stored) when the segment is not EXIF, has no such tag, or is
/// malformed. PIL ignores a broken EXIF block the same way rather than refusing the image.
int exifOrientation(absl::Span<const uint8_t> app1);

/// The image as PIL.ImageOps.exif_transpose shows it for `orientation` (2: mirror,
/// 3: rotate 180, 4: flip, 5: transpose, 6: rotate 90 clockwise, 7: transverse,
/// 8: rotate 90 counter-clockwise; anything else: unchanged).
RgbImage applyOrientation(const RgbImage &image, int orientation);

} // namespace mvc::vision

#endif // MVC_RUNTIME_VISION_EXIF_H
