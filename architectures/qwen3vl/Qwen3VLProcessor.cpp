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

absl::StatusOr<ImageProcessorConfig> ImageProcessorConfig::parse(const std::string &text,
                                                                 const std::string &name) {
  nlohmann::json config = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!config.is_object())
    return absl::InvalidArgumentError(name + ": expected a JSON object");
  auto fail = [&](const absl::Status &status) {
    return absl::InvalidArgumentError(name + ": " + std::string(status.message()));
  };
  ImageProcessorConfig out;
  vision::ImageProcessorConfig &p = out.pixels;
  // transformers' Qwen2VLImageProcessor class defaults are OpenAI CLIP's mean/std with patch
  // 14; Qwen3-VL's files always give their own, so these are Qwen3-VL's. Its default
  // backend is torchvision: torch's antialiased uint8 resize (PIL's bicubic weights in
  // torch's fixed point; FixedPoint::kPillow gives the PIL backend's bytes instead).
  p.resample = vision::ResampleFilter::kBicubic;
  p.arithmetic = vision::FixedPoint::kTorchUint8;
  auto flag = [&](const char *key, bool &out) -> absl::Status {
    auto v = vision::configFlag(config, key, out);
    if (!v.ok()) return v.status();
    out = *v;
    return absl::OkStatus();
  };
  for (auto [key, field] : {std::pair<const char *, bool *>{"do_resize", &p.doResize},
                            {"do_rescale", &p.doRescale},
                            {"do_normalize", &p.doNormalize}})
    if (absl::Status s = flag(key, *field); !s.ok()) return fail(s);
  if (!p.doResize)
    return absl::UnimplementedError(name + ": do_resize false is not supported (the patch grid "
                                            "needs sides that are multiples of patch x merge)");
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
  return out;
}

absl::StatusOr<ImagePatches> preprocessImage(const vision::RgbImage &image,
                                             const ImageProcessorConfig &config) {
  const int64_t p = config.patchSize, merge = config.mergeSize, tp = config.temporalPatchSize;
  auto size = smartResize(image.height, image.width, p * merge, config.minPixels, config.maxPixels);
  if (!size.ok()) return size.status();
  vision::ImageProcessorConfig pixels = config.pixels;
  pixels.height = size->first;
  pixels.width = size->second;
  std::vector<float> chw = vision::toPixelValues(image, pixels);  // [3, H, W]
  const int64_t height = size->first, width = size->second, channels = 3;
  ImagePatches out;
  out.grid = {1, height / p, width / p};
  out.rowElems = channels * tp * p * p;
  out.values.resize(out.grid.h * out.grid.w * out.rowElems);
  // Rows: (block row, block column, row in block, column in block); each row (channel,
  // temporal copy, y, x) of its patch.
  float *row = out.values.data();
  for (int64_t by = 0; by < out.grid.h / merge; ++by)
    for (int64_t bx = 0; bx < out.grid.w / merge; ++bx)
      for (int64_t my = 0; my < merge; ++my)
        for (int64_t mx = 0; mx < merge; ++mx) {
          int64_t y0 = (by * merge + my) * p, x0 = (bx * merge + mx) * p;
          for (int64_t c = 0; c < channels; ++c)
            for (int64_t t = 0; t < tp; ++t)
              for (int64_t y = 0; y < p; ++y) {
                const float *src = &chw[(c * height + y0 + y) * width + x0];
                std::copy(src, src + p, row);
                row += p;
              }
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
