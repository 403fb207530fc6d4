//===- Gemma4Run.h - Gemma 4's run half ---------------------------*- C++ -*-===//
//
// Text: the six inputs every language model takes (the run half's defaults). Its KV states
// differ per layer (head_dim, kv heads; shared layers have none), which the engine reads
// from the artifact's state declarations.
//
// With a vision tower the forward program also takes
//   image_features  f32 [I, H]  the embedder's rows of the images whose tokens are in the
//                               call (the `vision` program, all of them in one execution);
//   embed_source    i32 [T]     each token's row in image_features, or -1;
//   group_spans     i32 [T, 2]  (use_bidirectional_attention "vision") each image token's
//                               image span [start, end), which the sliding layers see whole
//                               within their window.
// An image is one frame: its real patches f32 [rows, cols, 3·p²] (the grid in the shape),
// as gemma4::preprocessImage makes them; it takes rows·cols/k² image tokens, written by the
// prompt expansion as <|image> + <|image|>×n + <image|> in place of the <|image|> marker
// and kept in one call. Every image, video or audio token (generated ones too) reaches the
// model as pad_token_id, as Gemma4Model's ids_llm. A video is one frame per sampled frame (gemma4::preprocessVideo),
// its <|video|> marker becoming "mm:ss <|image><|video|>×n<image|>" per frame, joined by
// spaces (Gemma4Processor.replace_video_token); each frame's run is its own image span. The tokens of image positions go to the model as pad_token_id
// (transformers' ids_llm: the per-layer embedding reads the pad row there). MLIR-free.
//
//===----------------------------------------------------------------------===//
#ifndef MVC_ARCHITECTURES_GEMMA4_GEMMA4RUN_H
#define MVC_ARCHITECTURES_GEMMA4_GEMMA4RUN_H

#include "architectures/gemma4/Gemma4Processor.h"
#include "runtime/pipeline/RunHalf.h"

namespace mvc {

class Gemma4RunHalf : public RunHalf {
public:
  static constexpr const char *kId = "gemma4";
  static absl::StatusOr<std::unique_ptr<RunHalf>> create(const Model &model,
                                                         const LanguageModelInfo &info);
  absl::string_view id() const override { return kId; }
  std::vector<InputSpec> extraInputs() const override;
  bool takesImages() const override { return vision; }
  bool takesVideos() const override { return vision && videoTokenId >= 0; }
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
  bool isPlaceholderToken(int32_t id) const override {
    return vision && (id == imageTokenId || (videoTokenId >= 0 && id == videoTokenId));
  }
  int64_t placeholderFrame(int64_t k, absl::Span<const ImageFrame> images) const override;
  int64_t chunkEnd(const SequenceView &sequence, int64_t begin, int64_t wantEnd) const override;
  absl::Status setInputs(Model &model, const ForwardBatch &batch,
                         ForwardInputs &inputs) const override;
  absl::StatusOr<uint64_t> imageActivationBytes(const Model &model,
                                                int64_t numImages) const override;
  std::map<std::string, std::vector<int64_t>> extraInputShapes(int64_t tokens,
                                                               int64_t images) const override;

private:
  /// An image frame's patch grid, from its pixels' shape [rows, cols, 3·p²].
  gemma4::Grid gridOf(const ImageFrame &frame) const;
  int64_t tokensOf(const ImageFrame &frame) const;

  bool vision = false, groups = false;
  std::string visionProgram = "vision";
  int32_t imageTokenId = -1, videoTokenId = -1, audioTokenId = -1, boiTokenId = -1, eoiTokenId = -1;
  int32_t padTokenId = 0;
  int64_t positionTable = 0, hidden = 0;
  gemma4::ImageProcessorConfig processor;
  gemma4::VideoProcessorConfig videoProcessor;
};

} // namespace mvc

#endif
