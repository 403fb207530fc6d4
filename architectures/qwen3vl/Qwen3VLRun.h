//===- Qwen3VLRun.h - Qwen3-VL's run half -------------------------*- C++ -*-===//
//
// Beyond the six inputs every language model takes, Qwen3-VL's forward program takes
//   mrope_positions  i32 [T, 3]  each token's (time, height, width) rotary positions: for a
//                                prompt with images get_rope_index's (Qwen3VLProcessor.h),
//                                for text and generated tokens the position plus the
//                                sequence's rope delta on every axis;
//   image_features   f32 [I, H]  the merger's rows of the images whose tokens are in the
//                                call (the `vision` program, all of them in one execution,
//                                attention within each image);
//   embed_source     i32 [T]     each token's row in image_features, or -1;
//   deepstack.{j}    f32 [I, H]  the j-th deepstack merger's rows, added to the hidden
//                                states at the image tokens after decoder layer j.
// An image is one frame: its patches f32 [t, h, w, C·tp·p·p] (the grid in the shape) in
// merge-block order, as qwen3vl::preprocessImage makes them; it takes t·h·w/merge² image
// tokens, all in one call. A video is one frame per temporal patch, [1, h, w, C·tp·p·p]
// each, whose h·w/merge² video tokens the processor writes between "<t seconds>" and the
// vision start/end tokens (the vision tower attends within each temporal patch, so a
// patch is one frame exactly as an image is). Each run of image or video tokens takes the
// next frame, so frames go in prompt order. MLIR-free.
//
//===----------------------------------------------------------------------===//
#ifndef MVC_ARCHITECTURES_QWEN3VL_QWEN3VLRUN_H
#define MVC_ARCHITECTURES_QWEN3VL_QWEN3VLRUN_H

#include "architectures/qwen3vl/Qwen3VLProcessor.h"
#include "runtime/pipeline/RunHalf.h"

namespace mvc {

class Qwen3VLRunHalf : public RunHalf {
public:
  static constexpr const char *kId = "qwen3vl";
  static absl::StatusOr<std::unique_ptr<RunHalf>> create(const Model &model,
                                                         const LanguageModelInfo &info);
  absl::string_view id() const override { return kId; }
  std::vector<InputSpec> extraInputs() const override;
  bool takesImages() const override { return true; }
  bool takesVideos() const override { return true; }
  std::string videoMarker(const text::Tokenizer &tokenizer) const override;
  absl::StatusOr<PreparedImage> prepareVideo(vision::VideoSource &video) const override;
  std::string imageMarker(const text::Tokenizer &tokenizer) const override;
  absl::StatusOr<PreparedImage> prepareImage(const vision::RgbImage &image,
                                             ImageSplitting splitting) const override;
  absl::StatusOr<PreparedImage> imageFromPixels(const HostTensor &pixels,
                                                const HostTensor *pixelMask) const override;
  absl::StatusOr<std::string> expandImages(absl::string_view text,
                                           absl::Span<const PreparedImage> images,
                                           const text::Tokenizer &tokenizer) const override;
  absl::Status checkPrompt(absl::Span<const int32_t> prompt,
                           absl::Span<const ImageFrame> images) const override;
  bool isPlaceholderToken(int32_t id) const override { return visual(id); }
  int64_t placeholderFrame(int64_t k, absl::Span<const ImageFrame> images) const override;
  int64_t chunkEnd(const SequenceView &sequence, int64_t begin, int64_t wantEnd) const override;
  absl::Status setInputs(Model &model, const ForwardBatch &batch,
                         ForwardInputs &inputs) const override;
  absl::StatusOr<uint64_t> imageActivationBytes(const Model &model,
                                                int64_t numImages) const override;
  std::map<std::string, std::vector<int64_t>> extraInputShapes(int64_t tokens,
                                                               int64_t images) const override;

private:
  /// An image frame's patch grid, from its pixels' shape [t, h, w, patchElems].
  qwen3vl::GridThw gridOf(const ImageFrame &frame) const;
  int64_t tokensOf(const ImageFrame &frame) const;
  /// An image or video token: each run of them is one frame's.
  bool visual(int32_t id) const { return id == imageTokenId || id == videoTokenId; }

  std::string visionProgram = "vision";
  int32_t imageTokenId = 0, videoTokenId = -1, visionStartTokenId = -1, visionEndTokenId = -1;
  int64_t maxPositions = 0;
  int64_t merge = 2, side = 0, patchElems = 0, deepstack = 0, hidden = 0;
  qwen3vl::ImageProcessorConfig processor;
  qwen3vl::VideoProcessorConfig videoProcessor;
};

} // namespace mvc

#endif
