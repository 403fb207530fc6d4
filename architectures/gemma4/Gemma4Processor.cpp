//===- Gemma4Processor.cpp - Gemma 4 images: sizes, patches, vision inputs -===//
#include "architectures/gemma4/Gemma4Processor.h"

#include <cmath>

#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "runtime/vision/ProcessorConfigFields.h"

namespace mvc::gemma4 {

absl::StatusOr<ImageProcessorConfig> ImageProcessorConfig::parse(const std::string &json,
                                                                 const std::string &name) {
  nlohmann::json config = nlohmann::json::parse(json, nullptr, false);
  if (!config.is_object()) return absl::InvalidArgumentError(name + ": not a JSON object");
  auto fail = [&](const absl::Status &status) {
    return absl::InvalidArgumentError(name + ": " + std::string(status.message()));
  };
  ImageProcessorConfig out;
  vision::ImageProcessorConfig &p = out.pixels;
  // Gemma4ImageProcessor's class defaults: bicubic through torchvision (torch's uint8
  // antialiased resize), x/255, no normalization (mean 0, std 1).
  p.resample = vision::ResampleFilter::kBicubic;
  p.arithmetic = vision::FixedPoint::kTorchUint8;
  p.doNormalize = false;
  p.imageMean = {0.0, 0.0, 0.0};
  p.imageStd = {1.0, 1.0, 1.0};
  for (auto [key, field] : {std::pair<const char *, bool *>{"do_resize", &p.doResize},
                            {"do_rescale", &p.doRescale},
                            {"do_normalize", &p.doNormalize}}) {
    auto v = vision::configFlag(config, key, *field);
    if (!v.ok()) return fail(v.status());
    *field = *v;
  }
  if (!p.doResize)
    return absl::UnimplementedError(name + ": do_resize false is not supported (the sides must "
                                           "be multiples of pooling_kernel_size x patch_size)");
  auto rescale = vision::configNumber(config, "rescale_factor", p.rescaleFactor);
  if (!rescale.ok()) return fail(rescale.status());
  p.rescaleFactor = *rescale;
  auto mean = vision::configPerChannel(config, "image_mean", p.imageMean);
  if (!mean.ok()) return fail(mean.status());
  p.imageMean = *mean;
  auto stdev = vision::configPerChannel(config, "image_std", p.imageStd);
  if (!stdev.ok()) return fail(stdev.status());
  p.imageStd = *stdev;
  auto resample = vision::configResample(config, p.resample);
  if (!resample.ok()) return fail(resample.status());
  p.resample = *resample;
  for (auto [key, field] : {std::pair<const char *, int64_t *>{"patch_size", &out.patchSize},
                            {"max_soft_tokens", &out.maxSoftTokens},
                            {"pooling_kernel_size", &out.poolingKernelSize}}) {
    if (!config.contains(key) || config[key].is_null()) continue;
    auto v = vision::configPositive(config, key, "");
    if (!v.ok()) return fail(v.status());
    *field = *v;
  }
  const int64_t soft = out.maxSoftTokens;
  if (soft != 70 && soft != 140 && soft != 280 && soft != 560 && soft != 1120)
    return absl::InvalidArgumentError(absl::StrCat(
        name, ": max_soft_tokens must be one of 70, 140, 280, 560, 1120, got ", soft));
  if (out.poolingKernelSize < 2)
    return absl::UnimplementedError(absl::StrCat(
        name, ": pooling_kernel_size ", out.poolingKernelSize,
        " is not supported (transformers 5.23's pooler is broken without pooling)"));
  return out;
}

absl::StatusOr<std::pair<int64_t, int64_t>> targetSize(int64_t height, int64_t width,
                                                       const ImageProcessorConfig &config) {
  const int64_t p = config.patchSize, k = config.poolingKernelSize;
  const int64_t maxPatches = config.maxPatches();
  // In doubles, as Python computes get_aspect_ratio_preserving_size.
  const double targetPx = static_cast<double>(maxPatches * p * p);
  const double factor = std::sqrt(targetPx / static_cast<double>(height * width));
  const int64_t side = k * p;
  int64_t th = static_cast<int64_t>(std::floor(factor * static_cast<double>(height) / side)) * side;
  int64_t tw = static_cast<int64_t>(std::floor(factor * static_cast<double>(width) / side)) * side;
  if (th == 0 && tw == 0)
    return absl::InvalidArgumentError(absl::StrCat(
        "a ", width, "x", height, " image resizes to 0 x 0 (its sides must become multiples of ",
        side, ")"));
  const int64_t maxSide = (maxPatches / (k * k)) * side;
  if (th == 0) {
    th = side;
    tw = std::min(static_cast<int64_t>(std::floor(static_cast<double>(width) / height)) * side, maxSide);
  } else if (tw == 0) {
    tw = side;
    th = std::min(static_cast<int64_t>(std::floor(static_cast<double>(height) / width)) * side, maxSide);
  }
  if (static_cast<double>(th * tw) > targetPx)
    return absl::InvalidArgumentError(absl::StrCat(
        "a ", width, "x", height, " image resizes to ", tw, "x", th, ", more than the ", maxPatches,
        " patches of ", p, "x", p, " pixels the processor allows (max_soft_tokens ",
        config.maxSoftTokens, ")"));
  return std::make_pair(th, tw);
}

absl::StatusOr<ImagePatches> preprocessImage(const vision::RgbImage &image,
                                             const ImageProcessorConfig &config) {
  if (image.height <= 0 || image.width <= 0) return absl::InvalidArgumentError("the image is empty");
  auto size = targetSize(image.height, image.width, config);
  if (!size.ok()) return size.status();
  vision::ImageProcessorConfig pixels = config.pixels;
  pixels.height = size->first;
  pixels.width = size->second;
  const std::vector<float> chw = vision::toPixelValues(image, pixels);  // [3, H, W]
  const int64_t p = config.patchSize, h = size->first, w = size->second;
  ImagePatches out;
  out.rows = h / p;
  out.cols = w / p;
  out.values.resize(static_cast<size_t>(3 * h * w));
  float *dst = out.values.data();
  for (int64_t r = 0; r < out.rows; ++r)
    for (int64_t c = 0; c < out.cols; ++c)
      for (int64_t py = 0; py < p; ++py)
        for (int64_t px = 0; px < p; ++px)
          for (int64_t ch = 0; ch < 3; ++ch)
            *dst++ = chw[(ch * h + r * p + py) * w + c * p + px];
  return out;
}

absl::StatusOr<VisionInputs> visionInputs(absl::Span<const Grid> grids, int64_t positionTable,
                                          int64_t k) {
  VisionInputs v;
  v.segments.push_back(0);
  int64_t base = 0;
  const float tap = 1.0f / static_cast<float>(k * k);
  for (size_t i = 0; i < grids.size(); ++i) {
    const Grid &g = grids[i];
    if (g.rows <= 0 || g.cols <= 0 || g.rows % k || g.cols % k)
      return absl::InvalidArgumentError(absl::StrCat("image ", i, ": a grid of ", g.rows, "x", g.cols,
                                                     " patches does not pool by ", k));
    if (g.rows > positionTable || g.cols > positionTable)
      return absl::InvalidArgumentError(absl::StrCat(
          "image ", i, ": ", g.rows, "x", g.cols, " patches exceed the vision model's position table (",
          positionTable, " per side)"));
    for (int64_t y = 0; y < g.rows; ++y)
      for (int64_t x = 0; x < g.cols; ++x) {
        v.posIds.insert(v.posIds.end(), {static_cast<int32_t>(x), static_cast<int32_t>(positionTable + y)});
        v.posWeights.insert(v.posWeights.end(), {1.0f, 1.0f});
        v.ropePositions.insert(v.ropePositions.end(), {static_cast<int32_t>(x), static_cast<int32_t>(y)});
      }
    for (int64_t py = 0; py < g.rows / k; ++py)
      for (int64_t px = 0; px < g.cols / k; ++px)
        for (int64_t dy = 0; dy < k; ++dy)
          for (int64_t dx = 0; dx < k; ++dx) {
            v.poolIds.push_back(static_cast<int32_t>(base + (py * k + dy) * g.cols + px * k + dx));
            v.poolWeights.push_back(tap);
          }
    base += g.rows * g.cols;
    v.segments.push_back(static_cast<int32_t>(base));
  }
  return v;
}

} // namespace mvc::gemma4
