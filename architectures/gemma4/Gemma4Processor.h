//===- Gemma4Processor.h - Gemma 4 images: sizes, patches, vision inputs -*- C++ -*-===//
//
// The run half's arithmetic for Gemma 4 images, as transformers 5.23.0's
// Gemma4ImageProcessor (torchvision backend) and Gemma4VisionModel compute it (MODELS.md
// §3.5):
//   - targetSize: the aspect-preserving size within the patch budget max_soft_tokens·k²
//     (k the pooling kernel), both sides multiples of k·patch_size; a side that rounds to
//     0 becomes one multiple, the other its aspect ratio's (capped);
//   - preprocessImage: the antialiased bicubic resize (uint8 between passes, torch's), x/255
//     (no normalization: the vision model maps [0, 1] to [-1, 1] itself), and the patches
//     row-major over the grid, each (py, px, channel) — only the real patches: the padding
//     the processor adds up to the budget is masked out by the model and contributes
//     nothing, so mvc never materializes it;
//   - visionInputs: the vision program's per-patch inputs for a call's images: the two
//     learned position-table rows (x, then pos_size + y), the 2-D RoPE positions (x, y),
//     the image segments (attention stays within an image) and the k×k average pooling as
//     k² taps per soft token (row-major over the pooled grid, weights 1/k² in f32).
// MLIR-free.
//
//===----------------------------------------------------------------------===//
#ifndef MVC_ARCHITECTURES_GEMMA4_GEMMA4PROCESSOR_H
#define MVC_ARCHITECTURES_GEMMA4_GEMMA4PROCESSOR_H

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "runtime/vision/ImageProcessor.h"
#include "runtime/vision/Video.h"

namespace mvc::gemma4 {

struct ImageProcessorConfig {
  vision::ImageProcessorConfig pixels;  // resample, rescale (no normalization by default)
  int64_t patchSize = 16, maxSoftTokens = 280, poolingKernelSize = 3;

  int64_t maxPatches() const { return maxSoftTokens * poolingKernelSize * poolingKernelSize; }
  /// preprocessor_config.json's text; errors name `name` and the key. max_soft_tokens must
  /// be one of 70, 140, 280, 560, 1120 (transformers refuses others).
  static absl::StatusOr<ImageProcessorConfig> parse(const std::string &json, const std::string &name);
  /// Gemma4ImageProcessor's class defaults (a checkpoint without the file).
  static ImageProcessorConfig defaults();
};

/// Errors (naming `file`) unless `config` cuts patches of the vision tower's size and pools
/// them by its kernel.
absl::Status checkFitsTower(const ImageProcessorConfig &config, int64_t patchSize,
                            int64_t poolingKernelSize, const std::string &file);

/// Gemma4VideoProcessor's video_preprocessor_config.json: each sampled frame is an image
/// of `frames`' budget (max_soft_tokens 70 by default), sampled as transformers'
/// default_sample_indices_fn (num_frames, 32 by default, or fps), no normalization in
/// effect (do_normalize with mean 0 and std 1).
struct VideoProcessorConfig {
  ImageProcessorConfig frames;
  std::optional<int64_t> numFrames = 32;
  std::optional<double> fps;
  bool doSampleFrames = true;
  static absl::StatusOr<VideoProcessorConfig> parse(const std::string &json, const std::string &name);
  /// Gemma4VideoProcessor's class defaults (a checkpoint without the file).
  static VideoProcessorConfig defaults();
};

/// The frames transformers samples from a video of `total` frames (`videoFps` its rate):
/// arange(n) · total // n for n = num_frames, or max(1, int(total / videoFps · fps)); every
/// frame without sampling. Errors as transformers' (n above the frame count, fps without
/// the video's rate).
absl::StatusOr<std::vector<int64_t>> sampleFrameIndices(int64_t total, std::optional<double> videoFps,
                                                        const VideoProcessorConfig &config);

/// "mm:ss" of a frame at `seconds`, as Gemma4Processor.replace_video_token writes it.
std::string frameTimestamp(double seconds);

/// A video's sampled frames through the image path at one size (the first frame's): each
/// frame's patches (rows x cols, 3·p² each), and its timestamp text.
struct VideoPatches {
  int64_t rows = 0, cols = 0;
  std::vector<std::vector<float>> frames;
  std::vector<std::string> timestamps;
};
absl::StatusOr<VideoPatches> preprocessVideo(vision::VideoSource &video, const VideoProcessorConfig &config);

/// (height, width) an image of `height` x `width` is resized to; errors as transformers'
/// (a 0 x 0 target, a target over the budget).
absl::StatusOr<std::pair<int64_t, int64_t>> targetSize(int64_t height, int64_t width,
                                                       const ImageProcessorConfig &config);

/// One image's patches: `rows` x `cols` of them, row-major, 3·p² values each.
struct ImagePatches {
  int64_t rows = 0, cols = 0;
  std::vector<float> values;
};
absl::StatusOr<ImagePatches> preprocessImage(const vision::RgbImage &image,
                                             const ImageProcessorConfig &config);

/// The soft tokens (and features) of an image of rows x cols patches.
inline int64_t softTokenCount(int64_t rows, int64_t cols, int64_t k) { return rows * cols / (k * k); }

/// A patch grid: rows x cols.
struct Grid {
  int64_t rows = 0, cols = 0;
};
struct VisionInputs {
  std::vector<int32_t> posIds, ropePositions, segments, poolIds;  // [N,2] [N,2] [S+1] [M,k²]
  std::vector<float> posWeights, poolWeights;                     // [N,2] [M,k²]
};
/// For the images of one vision call, in order; `positionTable` is the learned table's
/// size per axis (rows and columns must fit it: an error otherwise).
absl::StatusOr<VisionInputs> visionInputs(absl::Span<const Grid> grids, int64_t positionTable,
                                          int64_t k);

} // namespace mvc::gemma4

#endif // MVC_ARCHITECTURES_GEMMA4_GEMMA4PROCESSOR_H
