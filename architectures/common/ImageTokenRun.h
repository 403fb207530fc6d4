//===- ImageTokenRun.h - run half of a model whose images are token runs -*- C++ -*-===//
//
// What every "vision program, then merge at image-token positions" model shares at run
// time (Gemma 3 multimodal, Idefics3 / SmolVLM): the vision program turns frames (images,
// crops or tiles) of C x S x S pixels into tokens_per_frame rows of image features each
// (all frames of a forward call in one execution when its pixel_values take [F, C, S, S],
// one execution per frame when [1, C, S, S]); the prompt holds one image token per feature row, frames in prompt order; the
// forward program takes
//   image_features  f32 [I, H]  the rows of the frames whose tokens are in the call,
//   embed_source    i32 [N]     each call token's row in image_features, else -1.
// The k-th image token of a sequence is row k % tokens_per_frame of its frame
// k / tokens_per_frame. A subclass reads its own keys of the manifest's "vision" object,
// writes the image processor and the prompt expansion, and adds inputs of its own (Gemma 3's
// bidirectional group spans; Idefics3's per-patch vision inputs for frames smaller than the
// tower, made from their pixel attention masks).
//
//===----------------------------------------------------------------------===//
#ifndef MVC_ARCHITECTURES_COMMON_IMAGETOKENRUN_H
#define MVC_ARCHITECTURES_COMMON_IMAGETOKENRUN_H

#include <nlohmann/json.hpp>

#include "runtime/pipeline/RunHalf.h"

namespace mvc {

class ImageTokenRunHalf : public RunHalf {
public:
  std::vector<InputSpec> extraInputs() const override;
  bool takesImages() const override { return true; }
  /// One frame, f32 [C, S, S] or [1, C, S, S]; its pixel attention mask ([S, S] or
  /// [1, S, S], u8, i32 or i64) only where the model takes masks (takesPixelMasks).
  absl::StatusOr<PreparedImage> imageFromPixels(const HostTensor &pixels,
                                                const HostTensor *pixelMask) const override;
  absl::Status checkPrompt(absl::Span<const int32_t> prompt,
                           absl::Span<const ImageFrame> frames) const override;
  bool isPlaceholderToken(int32_t id) const override { return id == imageTokenId; }
  int64_t placeholderFrame(int64_t k, absl::Span<const ImageFrame>) const override {
    return k / tokensPerFrame;
  }
  /// A frame's image tokens stay in one call (its features are computed once, there): a
  /// cut inside a frame moves back to the frame's first token, or forward past its last.
  int64_t chunkEnd(const SequenceView &sequence, int64_t begin, int64_t wantEnd) const override;
  absl::Status setInputs(Model &model, const ForwardBatch &batch,
                         ForwardInputs &inputs) const override;
  absl::StatusOr<uint64_t> imageActivationBytes(const Model &model,
                                                int64_t numFrames) const override;
  std::map<std::string, std::vector<int64_t>> extraInputShapes(int64_t tokens,
                                                               int64_t frames) const override;

protected:
  using Json = nlohmann::ordered_json;

  /// Reads the manifest entry's "vision" object (program, image_token_id, `tokensKey`,
  /// image_size, num_channels), checks the vision and forward programs of `model` against
  /// it, and returns the object for the subclass's own keys.
  absl::StatusOr<Json> readVision(const Model &model, const LanguageModelInfo &info,
                                  const char *tokensKey);
  /// "manifest: language_model.vision.FIELD: MESSAGE".
  static absl::Status fieldError(absl::string_view field, absl::string_view message);
  /// A non-negative int32 field of the vision object.
  static absl::StatusOr<int64_t> intField(const Json &vision, const char *key);
  /// The token text of `id`, or an error naming `what` the model needs it for.
  static absl::StatusOr<std::string> tokenText(const text::Tokenizer &tokenizer, int32_t id,
                                               absl::string_view what);
  /// Frame `index` of planar f32 data holding C x S x S floats per frame, as a [C, S, S]
  /// tensor.
  absl::StatusOr<HostTensor> frameTensor(const float *frames, int64_t index) const;
  /// The index just past the run of image tokens containing `at`.
  int64_t imageRunEnd(absl::Span<const int32_t> tokens, int64_t at) const;

  /// Reads the subclass's keys of the vision object, before the programs are checked
  /// (extraVisionInputs may depend on them).
  virtual absl::Status readOwnVisionKeys(const Json &) { return absl::OkStatus(); }
  /// The vision program's inputs after pixel_values, in order, each i32 [F, perFrame]
  /// (Idefics3: patch_position_ids and patch_mask, perFrame = patches); readVision checks
  /// the program against them.
  struct VisionInput {
    std::string name;
    int64_t perFrame = 0;
  };
  virtual std::vector<VisionInput> extraVisionInputs() const { return {}; }
  /// Whether a frame may come with a pixel attention mask (extraVisionTensors reads it).
  virtual bool takesPixelMasks() const { return false; }
  /// Checks a frame's pixel attention mask (u8 [S, S]) where it enters (imageFromPixels).
  virtual absl::Status checkPixelMask(const HostTensor &) const { return absl::OkStatus(); }
  /// The extraVisionInputs of one execution's `frames`, in order.
  virtual std::vector<HostTensor> extraVisionTensors(absl::Span<const ImageFrame *const>) const {
    return {};
  }

  std::string visionProgram;
  int32_t imageTokenId = 0;
  int64_t tokensPerFrame = 0, imageSize = 0, numChannels = 0;
  int64_t imageHidden = 0; // row width of image_features
  int64_t vocabSize = 0;
  bool batchedFrames = false; // the vision program takes [F, C, S, S] with F dynamic

private:
  /// The vision program's features of `frames`, in order: [frames * tokensPerFrame, H]
  /// (those the feature cache keeps copied from it, the others encoded and kept).
  absl::StatusOr<HostTensor> encode(Model &model,
                                    absl::Span<const ImageFrame *const> frames) const;
};

} // namespace mvc

#endif
