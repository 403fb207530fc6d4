//===- Qwen3VLProcessor.h - Qwen3-VL image sizes and 3-D positions -*- C++ -*-===//
//
// The run half's arithmetic for Qwen3-VL (dense and MoE), as transformers 5.23.0 computes
// it (MODELS.md §5; goldens in tests/fixtures/qwen3vl_processor, made by transformers' own
// functions):
//   - smartResize: the size an image is resized to (qwen2_vl's smart_resize, which
//     Qwen3-VL's image processor uses): each side a multiple of `factor` (patch size x
//     spatial merge), the pixel count within [minPixels, maxPixels], the aspect ratio kept
//     as closely as possible; Python's round-half-even; an aspect ratio above 200 refused.
//   - ropeIndex: Qwen3VLModel.get_rope_index for one prompt: text tokens advance all three
//     axes together; an image (or one temporal patch of a video: videos are split per
//     temporal patch, their timestamps being text between them) of grid (t, h, w) takes
//     (t·h·w)/merge² tokens at temporal position `start`, rows start..start+h/merge-1 and
//     columns start..start+w/merge-1, and the next text starts at start + max(h, w)/merge.
//     The rope delta (the last position + 1 - the prompt length) carries the positions
//     into decoding: generated token i (counted from 0 at the prompt's start) has position
//     i + delta on every axis.
// MLIR-free.
//
//===----------------------------------------------------------------------===//
#ifndef MVC_ARCHITECTURES_QWEN3VL_QWEN3VLPROCESSOR_H
#define MVC_ARCHITECTURES_QWEN3VL_QWEN3VLPROCESSOR_H

#include <array>
#include <optional>
#include <cstdint>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "runtime/vision/ImageProcessor.h"
#include "runtime/vision/Video.h"

namespace mvc::qwen3vl {

/// (height, width) of the resized image.
absl::StatusOr<std::pair<int64_t, int64_t>> smartResize(int64_t height, int64_t width,
                                                        int64_t factor, int64_t minPixels,
                                                        int64_t maxPixels);

/// A vision input's patch grid before the spatial merge: temporal patches, rows, columns.
struct GridThw {
  int64_t t = 1, h = 1, w = 1;
};

/// What each prompt token is (transformers' mm_token_type_ids).
enum class TokenKind : uint8_t { kText = 0, kImage = 1, kVideo = 2 };

struct RopeIndex {
  std::array<std::vector<int32_t>, 3> positions; // temporal, height, width; one per token
  int64_t delta = 0;
};

/// The 3-D positions of a prompt whose tokens are `kinds`: its image spans take
/// `images`' grids in order, its video spans one temporal patch of `videos`' grids each,
/// in order. Errors: a span whose length is not its grid's token count, more spans than
/// grids or grids left over, a grid side not divisible by the merge.
absl::StatusOr<RopeIndex> ropeIndex(absl::Span<const TokenKind> kinds,
                                    absl::Span<const GridThw> images,
                                    absl::Span<const GridThw> videos, int64_t spatialMerge);

/// Qwen3-VL's image processor (transformers' Qwen2VLImageProcessor with Qwen3-VL's
/// preprocessor_config.json): resize to smartResize(h, w, patch x merge, pixel budget),
/// rescale, normalize, then patches.
struct ImageProcessorConfig {
  vision::ImageProcessorConfig pixels;  // resample, rescale, normalize (size set per image)
  int64_t patchSize = 16, temporalPatchSize = 2, mergeSize = 2;
  int64_t minPixels = 65536, maxPixels = 16777216;  // size.shortest_edge / longest_edge
  /// The text of a preprocessor_config.json (keys absent or null: Qwen3-VL's values;
  /// size.{shortest,longest}_edge or the older min_pixels / max_pixels); `name` in errors.
  static absl::StatusOr<ImageProcessorConfig> parse(const std::string &json,
                                                    const std::string &name);
};

/// Qwen3-VL's video processor (transformers' Qwen3VLVideoProcessor with the checkpoint's
/// video_preprocessor_config.json; keys absent or null: the class's values): frames sampled
/// at `fps` (clamped to [minFrames, maxFrames] and the frames there are) or `numFrames` of
/// them, each resized to videoSmartResize's size, rescaled and normalized, consecutive
/// frames paired into temporal patches (the last repeated to fill the last pair).
struct VideoProcessorConfig {
  vision::ImageProcessorConfig pixels;  // resample, rescale, normalize (size set per video)
  int64_t patchSize = 16, temporalPatchSize = 2, mergeSize = 2;
  int64_t minPixels = 128 * 32 * 32, maxPixels = 32 * 32 * 768;  // over all frames
  bool doSampleFrames = true;
  std::optional<double> fps = 2.0;
  std::optional<int64_t> numFrames;
  int64_t minFrames = 4, maxFrames = 768;
  /// qwen-vl-utils' per-frame cap (off unless the config turns it on, as in 5.23).
  bool capPixelsPerFrame = false;
  int64_t maxVideoTokens = 768;
  static absl::StatusOr<VideoProcessorConfig> parse(const std::string &json,
                                                    const std::string &name);
};

/// The frames sample_frames picks from a video of `total` frames at `videoFps` (unknown:
/// 24, as transformers assumes): np.linspace(0, total - 1, n).round() with n from the
/// config. Errors: fps and numFrames both set.
absl::StatusOr<std::vector<int64_t>> sampleFrameIndices(int64_t total, std::optional<double> videoFps,
                                                        const VideoProcessorConfig &config);

/// Qwen3-VL's video smart_resize: (height, width) for `frames` frames, the budget counting
/// every frame (rounded to the temporal patch). Errors: fewer frames than a temporal patch,
/// an aspect ratio above 200.
absl::StatusOr<std::pair<int64_t, int64_t>> videoSmartResize(int64_t frames, int64_t height,
                                                             int64_t width, int64_t temporalFactor,
                                                             int64_t factor, int64_t minPixels,
                                                             int64_t maxPixels);

/// Each temporal patch's time in seconds, as the processor writes it before the patch
/// ("<{t:.1f} seconds>"): the mean of the first and last sampled frame's index / fps.
std::vector<double> frameTimestamps(absl::Span<const int64_t> indices, double fps,
                                    int64_t temporalPatchSize);

/// A video as the vision tower takes it: `values` [grid.t · grid.h · grid.w, C·tp·p·p], one
/// temporal patch after another, each in merge-block order (pixel_values_videos); the
/// frames sampled and each temporal patch's timestamp.
struct VideoPatches {
  std::vector<float> values;
  GridThw grid;
  int64_t rowElems = 0;
  std::vector<int64_t> frameIndices;
  double fps = 24;  // the rate the timestamps are computed with
  std::vector<double> timestamps;
};
/// Samples, decodes (frame by frame: only a temporal patch of frames is held at a time),
/// resizes and patches `video`. `maxPatches` bounds grid.t · grid.h · grid.w and is checked
/// from the video's header before any frame is decoded.
absl::StatusOr<VideoPatches> preprocessVideo(vision::VideoSource &video,
                                             const VideoProcessorConfig &config,
                                             int64_t maxPatches);

/// One image as the vision tower takes it: `values` [grid.t·grid.h·grid.w, C·tp·p·p] f32,
/// rows in 2x2 merge-block order (the patches of one merged token are consecutive), each
/// row (channel, temporal copy, patch row, patch column), the image repeated over the
/// temporal patch, as transformers' patchify lays them out.
struct ImagePatches {
  std::vector<float> values;
  GridThw grid;
  int64_t rowElems = 0;
};
absl::StatusOr<ImagePatches> preprocessImage(const vision::RgbImage &image,
                                             const ImageProcessorConfig &config);

/// The `vision` program's inputs beyond pixel_values for a call over `grids` (images, or a
/// video's grid, in order; their patches packed in that order, each frame in merge-block
/// order), as transformers' vision_utils computes them:
///   posIds / posWeights [N, 4]: each patch's bilinear taps (align_corners) into the
///     side x side learned position table, and their weights, in f32 as torch computes them;
///   ropePositions [N, 2]: the patch's row and column;
///   segments [S + 1]: patch offsets of the attention segments, one per temporal patch.
struct VisionInputs {
  std::vector<int32_t> posIds, ropePositions, segments;
  std::vector<float> posWeights;
};
VisionInputs visionInputs(absl::Span<const GridThw> grids, int64_t side, int64_t merge);

/// The prompt tokens an image of `grid` takes: t·h·w / merge².
inline int64_t imageTokenCount(const GridThw &grid, int64_t merge) {
  return grid.t * grid.h * grid.w / (merge * merge);
}

} // namespace mvc::qwen3vl

#endif // MVC_ARCHITECTURES_QWEN3VL_QWEN3VLPROCESSOR_H
