//===- Gemma4Processor.cpp - Gemma 4 images: sizes, patches, vision inputs -===//
#include "architectures/gemma4/Gemma4Processor.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "runtime/vision/ProcessorConfigFields.h"

namespace mvc::gemma4 {

namespace {

/// The keys image and video processors share, over `out`'s defaults.
absl::Status parseCommon(const nlohmann::json &config, const std::string &name, ImageProcessorConfig &out) {
  auto fail = [&](const absl::Status &status) {
    return absl::InvalidArgumentError(name + ": " + std::string(status.message()));
  };
  if (absl::Status s = vision::configPixelFields(config, out.pixels); !s.ok()) return fail(s);
  if (!out.pixels.doResize)
    return absl::UnimplementedError(name + ": do_resize false is not supported (the sides must "
                                           "be multiples of pooling_kernel_size x patch_size)");
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
  return absl::OkStatus();
}

/// The processors' class defaults: bicubic through torchvision (torch's uint8 antialiased
/// resize), x/255, mean 0 and std 1.
ImageProcessorConfig classDefaults(bool normalize, int64_t maxSoftTokens) {
  ImageProcessorConfig out;
  vision::ImageProcessorConfig &p = out.pixels;
  p.resample = vision::ResampleFilter::kBicubic;
  p.arithmetic = vision::FixedPoint::kTorchUint8;
  p.doNormalize = normalize;
  p.imageMean = {0.0, 0.0, 0.0};
  p.imageStd = {1.0, 1.0, 1.0};
  out.maxSoftTokens = maxSoftTokens;
  return out;
}

nlohmann::json parseObject(const std::string &json) { return nlohmann::json::parse(json, nullptr, false); }

/// [3, h, w] values as the processor's patches: row-major over the grid, each (py, px, c).
std::vector<float> toPatches(const std::vector<float> &chw, int64_t h, int64_t w, int64_t p) {
  std::vector<float> out(chw.size());
  float *dst = out.data();
  for (int64_t r = 0; r < h / p; ++r)
    for (int64_t c = 0; c < w / p; ++c)
      for (int64_t py = 0; py < p; ++py)
        for (int64_t px = 0; px < p; ++px)
          for (int64_t ch = 0; ch < 3; ++ch) *dst++ = chw[(ch * h + r * p + py) * w + c * p + px];
  return out;
}

} // namespace

absl::StatusOr<ImageProcessorConfig> ImageProcessorConfig::parse(const std::string &json,
                                                                 const std::string &name) {
  nlohmann::json config = parseObject(json);
  if (!config.is_object()) return absl::InvalidArgumentError(name + ": not a JSON object");
  ImageProcessorConfig out = defaults();
  if (absl::Status s = parseCommon(config, name, out); !s.ok()) return s;
  return out;
}

ImageProcessorConfig ImageProcessorConfig::defaults() { return classDefaults(/*normalize=*/false, 280); }

VideoProcessorConfig VideoProcessorConfig::defaults() {
  VideoProcessorConfig out;
  out.frames = classDefaults(/*normalize=*/true, 70);
  return out;
}

absl::Status checkFitsTower(const ImageProcessorConfig &config, int64_t patchSize,
                            int64_t poolingKernelSize, const std::string &file) {
  if (config.patchSize == patchSize && config.poolingKernelSize == poolingKernelSize)
    return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrCat(
      file, ": patch_size ", config.patchSize, " and pooling_kernel_size ", config.poolingKernelSize,
      " differ from the vision model's ", patchSize, " and ", poolingKernelSize));
}

absl::StatusOr<VideoProcessorConfig> VideoProcessorConfig::parse(const std::string &json,
                                                                 const std::string &name) {
  nlohmann::json config = parseObject(json);
  if (!config.is_object()) return absl::InvalidArgumentError(name + ": not a JSON object");
  VideoProcessorConfig out = defaults();
  if (absl::Status s = parseCommon(config, name, out.frames); !s.ok()) return s;
  auto sample = vision::configFlag(config, "do_sample_frames", out.doSampleFrames);
  if (!sample.ok()) return absl::InvalidArgumentError(name + ": " + std::string(sample.status().message()));
  out.doSampleFrames = *sample;
  if (config.contains("num_frames")) {
    if (config["num_frames"].is_null()) {
      out.numFrames.reset();
    } else {
      auto n = vision::configPositive(config, "num_frames", "");
      if (!n.ok()) return absl::InvalidArgumentError(name + ": " + std::string(n.status().message()));
      out.numFrames = *n;
    }
  }
  if (config.contains("fps") && !config["fps"].is_null()) {
    if (!config["fps"].is_number() || !(config["fps"].get<double>() > 0))
      return absl::InvalidArgumentError(name + ": fps: expected a positive number");
    out.fps = config["fps"].get<double>();
  }
  if (out.fps && out.numFrames && config.contains("num_frames") && !config["num_frames"].is_null())
    return absl::InvalidArgumentError(name + ": num_frames and fps are mutually exclusive");
  if (out.fps) out.numFrames.reset();
  return out;
}

absl::StatusOr<std::vector<int64_t>> sampleFrameIndices(int64_t total, std::optional<double> videoFps,
                                                        const VideoProcessorConfig &config) {
  if (total <= 0) return absl::InvalidArgumentError("the video has no frames");
  std::vector<int64_t> out;
  std::optional<int64_t> n = config.doSampleFrames ? config.numFrames : std::nullopt;
  if (config.doSampleFrames && !n && config.fps) {
    if (!videoFps)
      return absl::InvalidArgumentError("sampling at fps needs the video's frame rate, which it does not say");
    n = std::max<int64_t>(1, static_cast<int64_t>(static_cast<double>(total) / *videoFps * *config.fps));
  }
  if (!n) {
    for (int64_t i = 0; i < total; ++i) out.push_back(i);
    return out;
  }
  if (*n > total)
    return absl::InvalidArgumentError(absl::StrCat("the processor samples ", *n, " frames but the video has ",
                                                   total, " (transformers refuses it too)"));
  for (int64_t i = 0; i < *n; ++i) out.push_back(i * total / *n);
  return out;
}

std::string frameTimestamp(double seconds) {
  // f"{int(seconds // 60):02d}:{int(seconds % 60):02d}" with Python's floor division and
  // modulo (seconds >= 0).
  const double minutes = std::floor(seconds / 60.0);
  const double rest = seconds - minutes * 60.0;
  char text[32];
  std::snprintf(text, sizeof(text), "%02lld:%02lld", static_cast<long long>(minutes),
                static_cast<long long>(rest));
  return text;
}

absl::StatusOr<VideoPatches> preprocessVideo(vision::VideoSource &video, const VideoProcessorConfig &config) {
  const vision::VideoInfo &info = video.info();
  auto indices = sampleFrameIndices(info.frameCount, info.fps, config);
  if (!indices.ok()) return absl::Status(indices.status().code(), video.name() + ": " + std::string(indices.status().message()));
  // Every frame of a video has the video's size: one target for all.
  auto size = targetSize(info.height, info.width, config.frames);
  if (!size.ok()) return absl::Status(size.status().code(), video.name() + ": " + std::string(size.status().message()));
  const int64_t p = config.frames.patchSize, h = size->first, w = size->second;
  vision::ImageProcessorConfig pixels = config.frames.pixels;
  pixels.height = h;
  pixels.width = w;
  VideoPatches out;
  out.rows = h / p;
  out.cols = w / p;
  // Timestamps are frame index / fps (24 when the video does not say, as transformers).
  const double fps = info.fps.value_or(24.0);
  for (int64_t index : *indices) out.timestamps.push_back(frameTimestamp(static_cast<double>(index) / fps));
  std::vector<int64_t> unique = *indices;
  unique.erase(std::unique(unique.begin(), unique.end()), unique.end());
  size_t sampled = 0;
  absl::Status decoded = video.decode(unique, [&](int64_t index, vision::RgbImage &&frame) {
    std::vector<float> patches = toPatches(vision::toPixelValues(frame, pixels), h, w, p);
    while (sampled < indices->size() && (*indices)[sampled] == index) {
      out.frames.push_back(patches);
      ++sampled;
    }
    return absl::OkStatus();
  });
  if (!decoded.ok()) return decoded;
  if (out.frames.size() != indices->size())
    return absl::InternalError(absl::StrCat(video.name(), ": decoded ", out.frames.size(), " of ",
                                            indices->size(), " sampled frames"));
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
  out.values = toPatches(chw, h, w, p);
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
