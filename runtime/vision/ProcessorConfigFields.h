//===- ProcessorConfigFields.h - typed keys of preprocessor_config.json -*- C++ -*-===//
//
// The readers every image processor's config parser shares (Gemma 3's in ImageProcessor.cpp,
// Idefics3's in architectures/idefics3): each checks the JSON type and names the key in
// its error ("image_std: expected a number or 3 numbers, got ..."); absent or null keys
// give the class default.
//
//===----------------------------------------------------------------------===//
#ifndef MVC_RUNTIME_VISION_PROCESSORCONFIGFIELDS_H
#define MVC_RUNTIME_VISION_PROCESSORCONFIGFIELDS_H

#include <array>
#include <cstdint>

#include <nlohmann/json.hpp>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "runtime/vision/Resample.h"

namespace mvc::vision {

/// A do_* flag.
absl::StatusOr<bool> configFlag(const nlohmann::json &config, const char *key, bool byDefault);
/// A number (rescale_factor).
absl::StatusOr<double> configNumber(const nlohmann::json &config, const char *key,
                                    double byDefault);
/// image_mean / image_std: one number for all channels or one per channel.
absl::StatusOr<std::array<double, 3>> configPerChannel(const nlohmann::json &config,
                                                       const char *key,
                                                       std::array<double, 3> byDefault);
/// A positive integer `key` of the object `path` names (size.height, max_image_size...);
/// required.
absl::StatusOr<int64_t> configPositive(const nlohmann::json &object, const char *key,
                                       absl::string_view path);
/// resample: a PIL filter number this runtime resamples with.
absl::StatusOr<ResampleFilter> configResample(const nlohmann::json &config,
                                              ResampleFilter byDefault);

struct ImageProcessorConfig;
/// The pixel keys the patch-based processors share (Qwen3-VL's, Gemma 4's): do_resize,
/// do_rescale, do_normalize, rescale_factor, image_mean, image_std and resample, each over
/// `pixels`' value (the class default). Errors name the key.
absl::Status configPixelFields(const nlohmann::json &config, ImageProcessorConfig &pixels);

} // namespace mvc::vision

#endif // MVC_RUNTIME_VISION_PROCESSORCONFIGFIELDS_H
