//===- Idefics3Processor.h - Idefics3 / SmolVLM images and image prompts ---===//
//
// What transformers 5.23's Idefics3ImageProcessorPil / SmolVLMImageProcessorPil (the PIL
// backend, identical for both) make of one image, and the text Idefics3Processor /
// SmolVLMProcessor put in place of each image marker. MODELS.md §4.3, §4.4.
//
// Batches: every frame is M x M (M = max_image_size.longest_edge), so a batch only pads
// whole frames. HF gives each sample the largest frame count of the batch, the missing
// frames all zero with pixel_attention_mask 0; every real frame's mask is all ones. The
// model drops all-zero frames, so an unpadded sample needs no mask.
//
//===----------------------------------------------------------------------===//
#ifndef MVC_ARCHITECTURES_IDEFICS3_IDEFICS3PROCESSOR_H
#define MVC_ARCHITECTURES_IDEFICS3_IDEFICS3PROCESSOR_H

#include <array>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "runtime/vision/Image.h"
#include "runtime/vision/Resample.h"

namespace mvc::idefics3 {

/// preprocessor_config.json; defaults are the processor class's (Idefics3-8B's sizes).
struct Idefics3ProcessorConfig {
  /// Images reach process() already RGB (the decoder drops alpha as HF's load_image does),
  /// so this has no effect there; kept because the key is part of the config.
  bool doConvertRgb = true;
  bool doResize = true;
  /// size: {"longest_edge": N} (then height = width = 0), or a fixed {"height", "width"}.
  int64_t longestEdge = 4 * 364;
  int64_t height = 0;
  int64_t width = 0;
  vision::ResampleFilter resample = vision::ResampleFilter::kLanczos;
  bool doImageSplitting = true;
  /// max_image_size.longest_edge: the side M of every frame.
  int64_t maxImageSize = 364;
  bool doRescale = true;
  double rescaleFactor = 1.0 / 255.0;
  bool doNormalize = true;
  std::array<double, 3> imageMean = {0.5, 0.5, 0.5};
  std::array<double, 3> imageStd = {0.5, 0.5, 0.5};
  bool doPad = true;

  /// Parses the text of a preprocessor_config.json; `name` prefixes error messages.
  static absl::StatusOr<Idefics3ProcessorConfig> parse(absl::string_view json,
                                                       const std::string &name);
};

/// The processor's output for one image: `frames` float32 [3, M, M] planes (CHW), the
/// rows x cols tiles row-major and then the global image, or the one image when it was not
/// split (rows = cols = 0).
struct ImageFrames {
  std::vector<float> pixelValues; // frames * 3 * side * side
  int64_t frames = 0;
  int64_t side = 0;
  int64_t rows = 0;
  int64_t cols = 0;
};

/// The size (height, width) of the longest-edge resize: the long side becomes
/// `longestEdge`, the other keeps the aspect ratio and is rounded up to even, then both are
/// scaled down if the long side exceeds 4096 (no even rounding there).
std::pair<int64_t, int64_t> longestEdgeSize(int64_t height, int64_t width, int64_t longestEdge);

/// The size resize_for_vision_encoder resizes to: both sides multiples of `side`, the long
/// side rounded up first and the short one derived from the aspect ratio, then rounded up.
std::pair<int64_t, int64_t> visionEncoderSize(int64_t height, int64_t width, int64_t side);

/// Resizes, splits, rescales and normalizes `image` (non-empty) as the HF processor does,
/// rounding to uint8 after every resize.
ImageFrames process(const vision::RgbImage &image, const Idefics3ProcessorConfig &config);

/// The token texts of an image's prompt. Idefics3Processor hard-codes these; SmolVLMProcessor
/// takes them from the tokenizer, defaulting to the same literals.
struct ImageTokens {
  std::string fakeImageToken = "<fake_token_around_image>";
  std::string imageToken = "<image>";
  std::string globalImageToken = "<global-img>";

  /// SmolVLM's: from a tokenizer_config.json text, a top-level "global_image_token" (etc.)
  /// string or AddedToken, overridden by the same name in the "extra_special_tokens" object.
  static absl::StatusOr<ImageTokens> fromTokenizerConfig(absl::string_view json,
                                                         const std::string &name);
};

/// An image's split, as process() returns it.
struct ImageGrid {
  int64_t rows = 0;
  int64_t cols = 0;
};

/// The text that replaces one image marker: for rows = cols = 0,
/// FAKE GLOBAL IMAGE×imageSeqLen FAKE; otherwise per tile FAKE <row_r_col_c> IMAGE×imageSeqLen,
/// "\n" after each row, then "\n" and the global image as for rows = cols = 0.
std::string imagePrompt(ImageGrid grid, int64_t imageSeqLen, const ImageTokens &tokens);

/// `prompt` with its i-th image marker (tokens.imageToken) replaced by imagePrompt of
/// images[i]; an error when the numbers of markers and images differ.
absl::StatusOr<std::string> expandImageMarkers(absl::string_view prompt,
                                               absl::Span<const ImageGrid> images,
                                               int64_t imageSeqLen, const ImageTokens &tokens);

/// The real patches of a frame given with a pixel attention mask (an image smaller than
/// the frame, padded at the bottom and right): `rows` x `cols` patches at the top left.
struct PatchRect {
  int64_t rows = 0, cols = 0;
};

/// The real patches of a `size` x `size` frame from its pixel attention mask (row-major,
/// nonzero = image), `patch` pixels a side: as transformers, a patch is real when any of
/// its pixels is. An error unless they form a nonempty rectangle at the top left (what
/// padding makes: transformers reads its size off the first row and column).
absl::StatusOr<PatchRect> realPatches(absl::Span<const uint8_t> mask, int64_t size, int64_t patch);

/// Idefics3VisionEmbeddings' position ids of an n x n patch grid whose real patches are
/// `real`, row-major: patch (i, j) of the rectangle takes bucket(i / rows) · n +
/// bucket(j / cols), where bucket(x) counts the boundaries 1/n, 2/n, .. at or below x (the
/// rectangle's fractional coordinates placed on the full grid); padding patches take 0.
/// Coordinates and boundaries are float32 as torch computes them, so equal fractions
/// compare as in transformers.
std::vector<int32_t> patchPositionIds(int64_t n, PatchRect real);

} // namespace mvc::idefics3

#endif // MVC_ARCHITECTURES_IDEFICS3_IDEFICS3PROCESSOR_H
