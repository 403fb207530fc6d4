//===- RunHalf.h - what an architecture does at run time ----------*- C++ -*-===//
//
// The run half of an architecture: everything model-specific between a user's prompt and
// the forward program, MLIR-free, beside its graph in architectures/<arch>/ (the compile
// half writes the id it needs into the manifest's language_model.architecture; the
// registry in architectures/RunHalves.h maps ids to run halves and refuses unknown ones).
// It answers:
//   - which inputs the forward program takes beyond the six every language model has
//     (tokens, positions, block_table, row_offsets, cache_lens, logit_rows), checked
//     against the artifact's program when the run half is created;
//   - how an image file becomes the vision program's images (its image processor), and how
//     a prompt's image markers expand into the tokens the model expects;
//   - where a prefill chunk may end (an image span attends to itself both ways, so it
//     stays inside one call);
//   - how one forward call's extra inputs are filled from its ragged batch (llama.cpp's
//     llm_graph_input_*::set_input): image features, embedding sources, bidirectional
//     spans today; M-RoPE positions, per-layer embeddings later.
// The Engine, TextSession, mvc-run and (later) mvc-serve call only this interface.
//
//===----------------------------------------------------------------------===//
#ifndef MVC_RUNTIME_PIPELINE_RUNHALF_H
#define MVC_RUNTIME_PIPELINE_RUNHALF_H

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "mvc/Runtime.h"
#include "runtime/kv_cache/KvPageTable.h"
#include "runtime/pipeline/FeatureCache.h"

namespace mvc {

namespace text {
class Tokenizer;
}
namespace vision {
struct RgbImage;
class VideoSource;
}

/// One frame the vision program takes (an image, a crop or a tile): pixel values f32
/// [C, S, S], and for a frame only part of which is image (padded to S x S, as Idefics3's
/// batches pad), its pixel attention mask u8 [S, S], nonzero on the image's pixels. An
/// empty mask: every pixel is image.
struct ImageFrame {
  HostTensor pixels;
  HostTensor pixelMask;
  /// frameContentHash of this frame once the Engine took it (0: not hashed): the prefix
  /// cache's key of its placeholder positions and the vision-feature cache's key.
  uint64_t contentHash = 0;
};

/// A 64-bit hash of a frame's pixels and mask (shapes included; never 0).
uint64_t frameContentHash(const ImageFrame &frame);

/// One image as the user gave it, prepared for the model: the vision program's frames
/// (the image itself, and crops or tiles where the architecture makes them), and how its
/// prompt text expands (`layout`, defined by the architecture: Gemma 3 {crops}, Idefics3
/// {rows, cols}).
struct PreparedImage {
  std::vector<ImageFrame> frames;
  std::vector<int64_t> layout;
  /// A video (prepareVideo) rather than an image: its frames are the vision program's
  /// inputs over time (Qwen3-VL: one per temporal patch) and `text` holds what its prompt
  /// expansion writes between them (Qwen3-VL: each temporal patch's timestamp).
  bool video = false;
  std::vector<std::string> text;
};

/// A sequence as the run half sees it: its tokens so far (prompt, then generated) and its
/// images' vision-program inputs (frames), in prompt order.
struct SequenceView {
  absl::Span<const int32_t> tokens;
  int64_t promptLength = 0;
  absl::Span<const ImageFrame> images;
};

/// One forward call's ragged batch: for each member sequence, the tokens
/// [begin, begin + count) of its token list, written at positions begin.. on top of the
/// `begin` tokens its cache holds.
struct ForwardBatch {
  struct Member {
    SequenceView sequence;
    int64_t begin = 0, count = 0;
  };
  std::vector<Member> members;
  std::vector<int32_t> tokens, positions, rowOffsets{0}, cacheLens, logitRows;
  BlockTables tables;
};

/// Whether an image is cut into more frames than the one the processor resizes it to
/// (Gemma 3's pan-and-scan crops, Idefics3's tiles): as the model's preprocessor config
/// says, or forced on or off by the user.
enum class ImageSplitting { kDefault, kOn, kOff };

/// Forward-program inputs by name.
using ForwardInputs = std::map<std::string, HostTensor>;

class RunHalf {
public:
  virtual ~RunHalf();

  /// The id the manifest names (language_model.architecture).
  virtual absl::string_view id() const = 0;
  /// The forward inputs beyond the common six, with their dtype and rank; the Engine
  /// checks the program against them.
  struct InputSpec {
    std::string name;
    DType dtype;
    size_t rank;
  };
  virtual std::vector<InputSpec> extraInputs() const { return {}; }

  /// Whether the model takes images at all.
  virtual bool takesImages() const { return false; }
  /// The token that stands for an image in a prompt written by a user or rendered by the
  /// chat template (Gemma 3: "<start_of_image>"); empty without images.
  virtual std::string imageMarker(const text::Tokenizer &tokenizer) const;
  /// An image through the model's image processor (the artifact's preprocessor config,
  /// else the architecture's defaults), split into crops or tiles as `splitting` says.
  virtual absl::StatusOr<PreparedImage> prepareImage(const vision::RgbImage &image,
                                                     ImageSplitting splitting) const;
  /// Whether the model takes videos, and the token that stands for one in a prompt
  /// ("<|video_pad|>"); empty without videos.
  virtual bool takesVideos() const { return false; }
  virtual std::string videoMarker(const text::Tokenizer &tokenizer) const { return ""; }
  /// A video through the model's video processor (frames sampled, decoded, resized,
  /// patched). Errors name the video.
  virtual absl::StatusOr<PreparedImage> prepareVideo(vision::VideoSource &video) const;
  /// Pixel values given directly: one vision-program frame, f32 [C, H, W] or [1, C, H, W],
  /// with its pixel attention mask ([H, W] or [1, H, W], any integer type) or null.
  virtual absl::StatusOr<PreparedImage> imageFromPixels(const HostTensor &pixels,
                                                        const HostTensor *pixelMask) const;
  /// `text` with each image (and video) marker replaced by its full token text (markers
  /// and `images`, videos included, are matched in order; their numbers and kinds must
  /// agree).
  virtual absl::StatusOr<std::string> expandImages(absl::string_view text,
                                                   absl::Span<const PreparedImage> images,
                                                   const text::Tokenizer &tokenizer) const;

  /// Checks a prompt (token ids, image tokens included) against its images before it is
  /// accepted; errors say what is wrong ("prompt" is prefixed by the caller).
  virtual absl::Status checkPrompt(absl::Span<const int32_t> prompt,
                                   absl::Span<const ImageFrame> images) const;
  /// Whether `id` is a valid prompt token beyond [0, vocab) (an image placeholder id).
  virtual bool isPlaceholderToken(int32_t id) const { return false; }
  /// The frame (index into the sequence's `images`) whose features the k-th image
  /// placeholder of a prompt holds, for a prompt checkPrompt accepted.
  virtual int64_t placeholderFrame(int64_t k, absl::Span<const ImageFrame> images) const {
    return 0;
  }
  /// Where a prefill chunk of `sequence` starting at `begin` may end, given that it should
  /// end at or before `wantEnd` (> begin): the largest valid end in (begin, wantEnd], else
  /// the smallest valid end above wantEnd (a span that must go whole).
  virtual int64_t chunkEnd(const SequenceView &sequence, int64_t begin, int64_t wantEnd) const {
    return wantEnd;
  }
  /// Fills the extra inputs of one forward call (and may adjust the common ones it was
  /// given, e.g. image token ids outside the vocabulary). May run the model's other
  /// programs (the vision encoder) for the images this call's tokens hold.
  virtual absl::Status setInputs(Model &model, const ForwardBatch &batch,
                                 ForwardInputs &inputs) const {
    return absl::OkStatus();
  }
  /// Activation memory of the programs setInputs runs for `numImages` images, and the
  /// bytes their results hold until the forward call.
  virtual absl::StatusOr<uint64_t> imageActivationBytes(const Model &model,
                                                        int64_t numImages) const {
    return uint64_t{0};
  }
  /// Shapes of the extra inputs of a call of `tokens` tokens holding `imageRows` image
  /// rows, for planning (activation memory) before running anything.
  virtual std::map<std::string, std::vector<int64_t>> extraInputShapes(int64_t tokens,
                                                                       int64_t images) const {
    return {};
  }

  /// Keeps the vision program's features of up to `bytes` bytes of frames by their
  /// content hash (FeatureCache.h), so setInputs encodes a repeated frame once; 0 turns
  /// the cache off. Call before the run half is used.
  void keepVisionFeatures(uint64_t bytes);
  /// The cache, or null when off.
  const FeatureCache *visionFeatures() const { return featureCache.get(); }

protected:
  std::unique_ptr<FeatureCache> featureCache;
};

/// An i32 tensor of `shape` holding `values`.
HostTensor i32Tensor(absl::Span<const int32_t> values, std::vector<int64_t> shape);

} // namespace mvc

#endif // MVC_RUNTIME_PIPELINE_RUNHALF_H
