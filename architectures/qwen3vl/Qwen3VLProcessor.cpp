#include "architectures/qwen3vl/Qwen3VLProcessor.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"
#include "nlohmann/json.hpp"
#include "runtime/vision/ProcessorConfigFields.h"

namespace mvc::qwen3vl {

absl::StatusOr<std::pair<int64_t, int64_t>> smartResize(int64_t height, int64_t width,
                                                        int64_t factor, int64_t minPixels,
                                                        int64_t maxPixels) {
  if (height <= 0 || width <= 0 || factor <= 0)
    return absl::InvalidArgumentError(
        absl::StrCat("image size ", height, "x", width, " (factor ", factor, "): not positive"));
  const double h = static_cast<double>(height), w = static_cast<double>(width);
  const double aspect = std::max(h, w) / std::min(h, w);
  if (aspect > 200)
    return absl::InvalidArgumentError(
        absl::StrCat("image ", width, "x", height, ": absolute aspect ratio must be smaller than "
                     "200, got ", aspect));
  const double f = static_cast<double>(factor);
  // Python's round() on a float: half to even (the default rounding mode of nearbyint).
  int64_t hBar = static_cast<int64_t>(std::nearbyint(h / f)) * factor;
  int64_t wBar = static_cast<int64_t>(std::nearbyint(w / f)) * factor;
  if (hBar * wBar > maxPixels) {
    const double beta = std::sqrt(static_cast<double>(height * width) / static_cast<double>(maxPixels));
    hBar = std::max(factor, static_cast<int64_t>(std::floor(h / beta / f)) * factor);
    wBar = std::max(factor, static_cast<int64_t>(std::floor(w / beta / f)) * factor);
  } else if (hBar * wBar < minPixels) {
    const double beta = std::sqrt(static_cast<double>(minPixels) / static_cast<double>(height * width));
    hBar = static_cast<int64_t>(std::ceil(h * beta / f)) * factor;
    wBar = static_cast<int64_t>(std::ceil(w * beta / f)) * factor;
  }
  return std::make_pair(hBar, wBar);
}

absl::StatusOr<RopeIndex> ropeIndex(absl::Span<const TokenKind> kinds,
                                    absl::Span<const GridThw> images,
                                    absl::Span<const GridThw> videos, int64_t spatialMerge) {
  if (spatialMerge <= 0)
    return absl::InvalidArgumentError("spatial merge size must be positive");
  // Videos go per temporal patch: grid (t, h, w) is t grids (1, h, w).
  std::vector<GridThw> frames;
  for (const GridThw &video : videos)
    for (int64_t k = 0; k < video.t; ++k)
      frames.push_back({1, video.h, video.w});
  size_t nextImage = 0, nextFrame = 0;
  RopeIndex out;
  for (auto &axis : out.positions)
    axis.reserve(kinds.size());
  int64_t position = 0, last = -1;
  auto emit = [&](int64_t t, int64_t h, int64_t w) {
    out.positions[0].push_back(static_cast<int32_t>(t));
    out.positions[1].push_back(static_cast<int32_t>(h));
    out.positions[2].push_back(static_cast<int32_t>(w));
    last = std::max({last, t, h, w});
  };
  for (size_t i = 0; i < kinds.size();) {
    size_t end = i;
    while (end < kinds.size() && kinds[end] == kinds[i])
      ++end;
    const int64_t length = static_cast<int64_t>(end - i);
    if (kinds[i] == TokenKind::kText) {
      for (int64_t k = 0; k < length; ++k)
        emit(position + k, position + k, position + k);
      position += length;
      i = end;
      continue;
    }
    // A run of image (or video) tokens is one image (or one temporal patch of a video),
    // as transformers groups them.
    const bool image = kinds[i] == TokenKind::kImage;
    const char *what = image ? "image" : "video frame";
    const GridThw *grid = nullptr;
    if (image) {
      if (nextImage >= images.size())
        return absl::InvalidArgumentError(absl::StrCat(
            "the prompt has more image spans than the ", images.size(), " images given"));
      grid = &images[nextImage++];
    } else {
      if (nextFrame >= frames.size())
        return absl::InvalidArgumentError(absl::StrCat(
            "the prompt has more video frame spans than the ", frames.size(),
            " temporal patches of the videos given"));
      grid = &frames[nextFrame++];
    }
    if (grid->t <= 0 || grid->h <= 0 || grid->w <= 0 || grid->h % spatialMerge != 0 ||
        grid->w % spatialMerge != 0)
      return absl::InvalidArgumentError(absl::StrCat(
          what, " grid (", grid->t, ", ", grid->h, ", ", grid->w,
          "): sides must be positive multiples of the spatial merge ", spatialMerge));
    const int64_t rows = grid->h / spatialMerge, cols = grid->w / spatialMerge;
    if (grid->t * rows * cols != length)
      return absl::InvalidArgumentError(absl::StrCat(
          "a span of ", length, " ", what, " tokens where its grid (", grid->t, ", ", grid->h,
          ", ", grid->w, ") needs ", grid->t * rows * cols));
    for (int64_t t = 0; t < grid->t; ++t)
      for (int64_t r = 0; r < rows; ++r)
        for (int64_t c = 0; c < cols; ++c)
          emit(position + t, position + r, position + c);
    position += std::max(grid->h, grid->w) / spatialMerge;
    i = end;
  }
  if (nextImage != images.size() || nextFrame != frames.size())
    return absl::InvalidArgumentError(absl::StrCat(
        "the prompt's spans take ", nextImage, " of ", images.size(), " images and ", nextFrame,
        " of ", frames.size(), " video temporal patches"));
  out.delta = last + 1 - static_cast<int64_t>(kinds.size());
  return out;
}

} // namespace mvc::qwen3vl

namespace mvc::qwen3vl {

namespace {

/// The keys image and video processors share: resize, rescale, normalize, patches, the
/// pixel budget.
struct PatchFields {
  vision::ImageProcessorConfig &pixels;
  int64_t &patchSize, &temporalPatchSize, &mergeSize, &minPixels, &maxPixels;
};

absl::Status parsePatchFields(const nlohmann::json &config, const std::string &name,
                              PatchFields out) {
  auto fail = [&](const absl::Status &status) {
    return absl::InvalidArgumentError(name + ": " + std::string(status.message()));
  };
  vision::ImageProcessorConfig &p = out.pixels;
  // transformers' Qwen2VLImageProcessor class defaults are OpenAI CLIP's mean/std with patch
  // 14; Qwen3-VL's files always give their own, so these are Qwen3-VL's. Its default
  // backend is torchvision: torch's antialiased uint8 resize (PIL's bicubic weights in
  // torch's fixed point; FixedPoint::kPillow gives the PIL backend's bytes instead).
  p.resample = vision::ResampleFilter::kBicubic;
  p.arithmetic = vision::FixedPoint::kTorchUint8;
  if (absl::Status s = vision::configPixelFields(config, p); !s.ok()) return fail(s);
  if (!p.doResize)
    return absl::UnimplementedError(name + ": do_resize false is not supported (the patch grid "
                                            "needs sides that are multiples of patch x merge)");
  auto positive = [&](const nlohmann::json &object, const char *key, int64_t &field,
                      absl::string_view path) -> absl::Status {
    if (!object.contains(key) || object[key].is_null()) return absl::OkStatus();
    auto v = vision::configPositive(object, key, path);
    if (!v.ok()) return v.status();
    field = *v;
    return absl::OkStatus();
  };
  for (auto [key, field] : {std::pair<const char *, int64_t *>{"patch_size", &out.patchSize},
                            {"temporal_patch_size", &out.temporalPatchSize},
                            {"merge_size", &out.mergeSize},
                            {"min_pixels", &out.minPixels},
                            {"max_pixels", &out.maxPixels}})
    if (absl::Status s = positive(config, key, *field, ""); !s.ok()) return fail(s);
  // size wins over min_pixels / max_pixels, as the processor's constructor has it.
  if (config.contains("size") && !config["size"].is_null()) {
    const nlohmann::json &size = config["size"];
    if (!size.is_object()) return absl::InvalidArgumentError(name + ": size: expected an object");
    if (absl::Status s = positive(size, "shortest_edge", out.minPixels, "size"); !s.ok()) return fail(s);
    if (absl::Status s = positive(size, "longest_edge", out.maxPixels, "size"); !s.ok()) return fail(s);
  }
  if (out.minPixels > out.maxPixels)
    return absl::InvalidArgumentError(name + ": the pixel budget's minimum " +
                                      std::to_string(out.minPixels) + " exceeds its maximum " +
                                      std::to_string(out.maxPixels));
  return absl::OkStatus();
}

/// A processor config's JSON object, with the fields images and videos share read into
/// `out` (an ImageProcessorConfig or a VideoProcessorConfig).
template <typename Config>
absl::StatusOr<nlohmann::json> parseShared(const std::string &text, const std::string &name,
                                           Config &out) {
  nlohmann::json config = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!config.is_object())
    return absl::InvalidArgumentError(name + ": expected a JSON object");
  if (absl::Status s = parsePatchFields(config, name,
                                        {out.pixels, out.patchSize, out.temporalPatchSize,
                                         out.mergeSize, out.minPixels, out.maxPixels});
      !s.ok())
    return s;
  return config;
}

} // namespace

absl::StatusOr<ImageProcessorConfig> ImageProcessorConfig::parse(const std::string &text,
                                                                 const std::string &name) {
  ImageProcessorConfig out;
  if (absl::StatusOr<nlohmann::json> config = parseShared(text, name, out); !config.ok())
    return config.status();
  return out;
}

absl::StatusOr<VideoProcessorConfig> VideoProcessorConfig::parse(const std::string &text,
                                                                 const std::string &name) {
  VideoProcessorConfig out;
  absl::StatusOr<nlohmann::json> parsed = parseShared(text, name, out);
  if (!parsed.ok()) return parsed.status();
  const nlohmann::json &config = *parsed;
  auto fail = [&](const absl::Status &status) {
    return absl::InvalidArgumentError(name + ": " + std::string(status.message()));
  };
  if (auto v = vision::configFlag(config, "do_sample_frames", out.doSampleFrames); !v.ok())
    return fail(v.status());
  else
    out.doSampleFrames = *v;
  if (auto v = vision::configFlag(config, "cap_pixels_per_frame", out.capPixelsPerFrame); !v.ok())
    return fail(v.status());
  else
    out.capPixelsPerFrame = *v;
  if (config.contains("fps")) {
    if (config["fps"].is_null()) {
      out.fps.reset();
    } else if (!config["fps"].is_number() || !(config["fps"].get<double>() > 0)) {
      return absl::InvalidArgumentError(name + ": fps: expected a positive number or null");
    } else {
      out.fps = config["fps"].get<double>();
    }
  }
  auto positive = [&](const char *key, int64_t &field) -> absl::Status {
    if (!config.contains(key) || config[key].is_null()) return absl::OkStatus();
    auto v = vision::configPositive(config, key, "");
    if (!v.ok()) return fail(v.status());
    field = *v;
    return absl::OkStatus();
  };
  int64_t numFrames = 0;
  for (auto [key, field] : {std::pair<const char *, int64_t *>{"min_frames", &out.minFrames},
                            {"max_frames", &out.maxFrames},
                            {"max_video_tokens", &out.maxVideoTokens},
                            {"num_frames", &numFrames}})
    if (absl::Status s = positive(key, *field); !s.ok()) return s;
  if (numFrames > 0) out.numFrames = numFrames;
  if (out.minFrames > out.maxFrames)
    return absl::InvalidArgumentError(name + ": min_frames " + std::to_string(out.minFrames) +
                                      " exceeds max_frames " + std::to_string(out.maxFrames));
  return out;
}

namespace {

/// One temporal patch's rows, appended to `out`: `frames` (tp of them, each [3, H, W]) cut
/// into p x p patches in merge-block order (block row, block column, row in block, column
/// in block); each row (channel, frame, y, x).
void appendPatchRows(absl::Span<const float *const> frames, int64_t height, int64_t width,
                     int64_t p, int64_t merge, std::vector<float> &out) {
  const int64_t channels = 3, tp = static_cast<int64_t>(frames.size());
  const int64_t gh = height / p, gw = width / p;
  size_t at = out.size();
  out.resize(at + static_cast<size_t>(gh * gw * channels * tp * p * p));
  float *row = out.data() + at;
  for (int64_t by = 0; by < gh / merge; ++by)
    for (int64_t bx = 0; bx < gw / merge; ++bx)
      for (int64_t my = 0; my < merge; ++my)
        for (int64_t mx = 0; mx < merge; ++mx) {
          int64_t y0 = (by * merge + my) * p, x0 = (bx * merge + mx) * p;
          for (int64_t c = 0; c < channels; ++c)
            for (int64_t t = 0; t < tp; ++t)
              for (int64_t y = 0; y < p; ++y) {
                const float *src = &frames[t][(c * height + y0 + y) * width + x0];
                std::copy(src, src + p, row);
                row += p;
              }
        }
}

} // namespace

absl::StatusOr<ImagePatches> preprocessImage(const vision::RgbImage &image,
                                             const ImageProcessorConfig &config) {
  const int64_t p = config.patchSize, merge = config.mergeSize, tp = config.temporalPatchSize;
  auto size = smartResize(image.height, image.width, p * merge, config.minPixels, config.maxPixels);
  if (!size.ok()) return size.status();
  vision::ImageProcessorConfig pixels = config.pixels;
  pixels.height = size->first;
  pixels.width = size->second;
  std::vector<float> chw = vision::toPixelValues(image, pixels);  // [3, H, W]
  ImagePatches out;
  out.grid = {1, size->first / p, size->second / p};
  out.rowElems = 3 * tp * p * p;
  // The image is its own temporal patch, repeated tp times.
  std::vector<const float *> frames(static_cast<size_t>(tp), chw.data());
  appendPatchRows(frames, size->first, size->second, p, merge, out.values);
  return out;
}

absl::StatusOr<std::vector<int64_t>> sampleFrameIndices(int64_t total, std::optional<double> videoFps,
                                                        const VideoProcessorConfig &config) {
  if (total <= 0) return absl::InvalidArgumentError("the video has no frames");
  if (!config.doSampleFrames) {
    std::vector<int64_t> all(static_cast<size_t>(total));
    for (int64_t i = 0; i < total; ++i) all[i] = i;
    return all;
  }
  if (config.fps && config.numFrames)
    return absl::InvalidArgumentError(
        "the video processor config sets both fps and num_frames (they are mutually exclusive)");
  int64_t n = 0;
  if (config.numFrames) {
    n = *config.numFrames;
  } else if (config.fps) {
    const double rate = videoFps.value_or(24.0);
    // int(total / rate * fps): Python truncates toward zero.
    n = static_cast<int64_t>(static_cast<double>(total) / rate * *config.fps);
    n = std::min({std::max(n, config.minFrames), config.maxFrames, total});
  } else {
    n = std::min(std::max(total, config.minFrames), config.maxFrames);
  }
  // np.linspace(0, total - 1, n): i * step, the last exactly total - 1; then .round()
  // (half to even) and astype(int).
  std::vector<int64_t> out(static_cast<size_t>(n));
  const double step = n > 1 ? static_cast<double>(total - 1) / static_cast<double>(n - 1) : 0;
  for (int64_t i = 0; i < n; ++i) {
    double y = i + 1 == n && n > 1 ? static_cast<double>(total - 1) : static_cast<double>(i) * step;
    out[i] = static_cast<int64_t>(std::nearbyint(y));
  }
  return out;
}

absl::StatusOr<std::pair<int64_t, int64_t>> videoSmartResize(int64_t frames, int64_t height,
                                                             int64_t width, int64_t temporalFactor,
                                                             int64_t factor, int64_t minPixels,
                                                             int64_t maxPixels) {
  if (frames < temporalFactor)
    return absl::InvalidArgumentError(absl::StrCat(
        "a video of ", frames, " sampled frames: at least a temporal patch (", temporalFactor,
        ") is needed"));
  if (height <= 0 || width <= 0 || factor <= 0)
    return absl::InvalidArgumentError(
        absl::StrCat("video frame size ", width, "x", height, ": not positive"));
  double h = static_cast<double>(height), w = static_cast<double>(width);
  const double f = static_cast<double>(factor);
  if (height < factor || width < factor) {
    // int(height * scale): truncation of a positive double.
    const double scale = std::max(f / h, f / w);
    h = std::trunc(h * scale);
    w = std::trunc(w * scale);
  }
  const double aspect = std::max(h, w) / std::min(h, w);
  if (aspect > 200)
    return absl::InvalidArgumentError(absl::StrCat(
        "video ", width, "x", height, ": absolute aspect ratio must be smaller than 200, got ",
        aspect));
  int64_t hBar = static_cast<int64_t>(std::nearbyint(h / f)) * factor;
  int64_t wBar = static_cast<int64_t>(std::nearbyint(w / f)) * factor;
  const int64_t tBar = static_cast<int64_t>(std::nearbyint(double(frames) / double(temporalFactor))) *
                       temporalFactor;
  const double volume = static_cast<double>(frames) * h * w;
  if (tBar * hBar * wBar > maxPixels) {
    const double beta = std::sqrt(volume / static_cast<double>(maxPixels));
    hBar = std::max(factor, static_cast<int64_t>(std::floor(h / beta / f)) * factor);
    wBar = std::max(factor, static_cast<int64_t>(std::floor(w / beta / f)) * factor);
  } else if (tBar * hBar * wBar < minPixels) {
    const double beta = std::sqrt(static_cast<double>(minPixels) / volume);
    hBar = static_cast<int64_t>(std::ceil(h * beta / f)) * factor;
    wBar = static_cast<int64_t>(std::ceil(w * beta / f)) * factor;
  }
  return std::make_pair(hBar, wBar);
}

std::vector<double> frameTimestamps(absl::Span<const int64_t> indices, double fps,
                                    int64_t temporalPatchSize) {
  std::vector<int64_t> padded(indices.begin(), indices.end());
  while (!padded.empty() && padded.size() % temporalPatchSize != 0) padded.push_back(padded.back());
  std::vector<double> out;
  for (size_t i = 0; i < padded.size(); i += temporalPatchSize) {
    double first = static_cast<double>(padded[i]) / fps;
    double last = static_cast<double>(padded[i + temporalPatchSize - 1]) / fps;
    out.push_back((first + last) / 2);
  }
  return out;
}

absl::StatusOr<VideoPatches> preprocessVideo(vision::VideoSource &video,
                                             const VideoProcessorConfig &config,
                                             int64_t maxPatches) {
  const vision::VideoInfo &info = video.info();
  const int64_t p = config.patchSize, merge = config.mergeSize, tp = config.temporalPatchSize;
  auto named = [&](const absl::Status &s) {
    return absl::Status(s.code(), absl::StrCat(video.name(), ": ", s.message()));
  };
  VideoPatches out;
  absl::StatusOr<std::vector<int64_t>> indices = sampleFrameIndices(info.frameCount, info.fps, config);
  if (!indices.ok()) return named(indices.status());
  out.frameIndices = std::move(*indices);
  out.fps = info.fps.value_or(24.0);
  const int64_t frames = static_cast<int64_t>(out.frameIndices.size());
  int64_t maxPixels = config.maxPixels;
  if (config.capPixelsPerFrame) {
    const int64_t factor = p * merge;
    const int64_t perFrame =
        std::max(std::min(config.maxVideoTokens * factor * factor, config.maxPixels / frames),
                 static_cast<int64_t>(static_cast<double>(config.minPixels) * 1.05));
    maxPixels = perFrame * frames;
  }
  auto size = videoSmartResize(frames, info.height, info.width, tp, p * merge, config.minPixels,
                               maxPixels);
  if (!size.ok()) return named(size.status());
  const int64_t height = size->first, width = size->second;
  out.grid = {(frames + tp - 1) / tp, height / p, width / p};
  out.rowElems = 3 * tp * p * p;
  // Refused from the header, before decoding.
  if (out.grid.t * out.grid.h * out.grid.w > maxPatches)
    return absl::ResourceExhaustedError(absl::StrCat(
        video.name(), ": ", frames, " frames of ", width, "x", height, " make ",
        out.grid.t * out.grid.h * out.grid.w, " patches, more than the ", maxPatches,
        " the model's vision activations allow"));
  out.timestamps = frameTimestamps(out.frameIndices, out.fps, tp);
  vision::ImageProcessorConfig pixels = config.pixels;
  pixels.height = height;
  pixels.width = width;
  out.values.reserve(static_cast<size_t>(out.grid.t * out.grid.h * out.grid.w * out.rowElems));
  // One temporal patch of resized frames at a time. A frame sampled twice (few frames,
  // many wanted) is decoded once and used at each place it was sampled.
  std::vector<int64_t> unique = out.frameIndices;
  unique.erase(std::unique(unique.begin(), unique.end()), unique.end());
  std::vector<std::vector<float>> pending;
  size_t sampled = 0;
  auto flush = [&]() {
    std::vector<const float *> ptrs;
    for (const std::vector<float> &f : pending) ptrs.push_back(f.data());
    appendPatchRows(ptrs, height, width, p, merge, out.values);
    pending.clear();
  };
  absl::Status decoded = video.decode(unique, [&](int64_t index, vision::RgbImage &&frame) {
    std::vector<float> chw = vision::toPixelValues(frame, pixels);
    while (sampled < out.frameIndices.size() && out.frameIndices[sampled] == index) {
      pending.push_back(chw);
      ++sampled;
      if (static_cast<int64_t>(pending.size()) == tp) flush();
    }
    return absl::OkStatus();
  });
  if (!decoded.ok()) return decoded;
  if (!pending.empty()) {
    while (static_cast<int64_t>(pending.size()) < tp) pending.push_back(pending.back());
    flush();
  }
  return out;
}

} // namespace mvc::qwen3vl

namespace mvc::qwen3vl {

VisionInputs visionInputs(absl::Span<const GridThw> grids, int64_t side, int64_t merge) {
  VisionInputs out;
  out.segments.push_back(0);
  // One axis's two taps: src = index·(side-1)/max(size-1, 1) in f32, as torch evaluates it.
  auto taps = [&](int64_t index, int64_t size, int64_t tap[2], float weight[2]) {
    float src = (float(index) * float(side - 1)) / float(std::max<int64_t>(size - 1, 1));
    float floor = std::floor(src);
    for (int k = 0; k < 2; ++k) {
      tap[k] = std::clamp<int64_t>(int64_t(floor) + k, 0, side - 1);
      float distance = std::fabs(src - floor - float(k));
      weight[k] = std::max(1.0f - distance, 0.0f);
    }
  };
  for (const GridThw &g : grids) {
    for (int64_t t = 0; t < g.t; ++t) {
      for (int64_t within = 0; within < g.h * g.w; ++within) {
        // Merge-block order: (block row, block column, row in block, column in block).
        int64_t blocksW = g.w / merge;
        int64_t inCol = within % merge, inRow = (within / merge) % merge;
        int64_t blockCol = (within / (merge * merge)) % blocksW;
        int64_t blockRow = within / (merge * merge * blocksW);
        int64_t row = blockRow * merge + inRow, col = blockCol * merge + inCol;
        int64_t hTap[2], wTap[2];
        float hW[2], wW[2];
        taps(row, g.h, hTap, hW);
        taps(col, g.w, wTap, wW);
        for (int i = 0; i < 2; ++i)
          for (int j = 0; j < 2; ++j) {
            out.posIds.push_back(int32_t(hTap[i] * side + wTap[j]));
            out.posWeights.push_back(hW[i] * wW[j]);
          }
        out.ropePositions.push_back(int32_t(row));
        out.ropePositions.push_back(int32_t(col));
      }
      out.segments.push_back(out.segments.back() + int32_t(g.h * g.w));
    }
  }
  return out;
}

} // namespace mvc::qwen3vl
