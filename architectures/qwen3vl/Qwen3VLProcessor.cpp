#include "architectures/qwen3vl/Qwen3VLProcessor.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"

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
