//===- Resample.h - PIL's antialiased resampling on 8-bit images -----------===//
//
// PIL's Image.resize for lanczos, bilinear and bicubic (ImagingResample): separable, the filter
// support widened by the downscale factor (antialiasing), weights in
// fixed point, and the result rounded to uint8 between the passes (so the order of the
// passes matters too). Matching all of that gives the same bytes as PIL (Pillow 13).
//
//===----------------------------------------------------------------------===//
#ifndef MVC_RUNTIME_VISION_RESAMPLE_H
#define MVC_RUNTIME_VISION_RESAMPLE_H

#include <cstdint>

#include "absl/status/statusor.h"
#include "runtime/vision/Image.h"

namespace mvc::vision {

/// The filters the HF processors of our models use, numbered as PIL's Resampling enum.
/// kLanczos is checked against PIL only (FixedPoint::kPillow); torchvision's LANCZOS is a
/// different computation (up to 1 level apart, see MODELS.md §4.3).
enum class ResampleFilter { kLanczos = 1, kBilinear = 2, kBicubic = 3 };

/// Maps a PIL resample number (preprocessor_config.json "resample") to a filter.
absl::StatusOr<ResampleFilter> resampleFilterFromPil(int value);

/// How weights become integers and sums become bytes. kPillow is PIL's own (22 fraction
/// bits). kTorchUint8 is torch's uint8 antialiased interpolate on CPU (what torchvision's
/// resize of a uint8 tensor runs): the same weights, rounded to as many fraction bits as fit
/// the largest weight in 16 bits. (torchvision takes that path for bilinear only on CPUs
/// with AVX2/AVX-512 or on ARM; elsewhere it resizes in float32 and rounds.)
enum class FixedPoint { kPillow, kTorchUint8 };

/// `image` resized to `height` x `width` (both > 0).
RgbImage resize(const RgbImage &image, int64_t height, int64_t width, ResampleFilter filter,
                FixedPoint arithmetic = FixedPoint::kPillow);

} // namespace mvc::vision

#endif // MVC_RUNTIME_VISION_RESAMPLE_H
