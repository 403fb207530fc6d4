//===- Gemma3MultimodalRun.h - Gemma 3 with images: the run half --*- C++ -*-===//
//
// What Gemma3ForConditionalGeneration needs at run time (MLIR-free):
//   images   the processor of preprocessor_config.json (else Gemma 3's defaults: resize to
//            the vision program's size, bilinear, rescale 1/255, mean = std = 0.5), with
//            pan-and-scan crops when asked; each crop is one more image of the vision
//            program;
//   prompt   each "<start_of_image>" becomes "\n\n" boi (image token × tokens_per_image) eoi
//            "\n\n", an image with crops "Here is the original image " SPAN " and here are
//            some crops to help you see better " SPAN SPAN..., as Gemma3Processor writes it;
//   inputs   image_features and embed_source (ImageTokenRunHalf, one frame per image or
//            crop), and group_spans (each image run's [start, end) in positions: it attends both
//            ways); a prefill chunk never splits a run of image tokens.
// The manifest entry's "vision" object (FORMAT.md) configures it.
//
//===----------------------------------------------------------------------===//
#ifndef MVC_ARCHITECTURES_GEMMA3MULTIMODAL_GEMMA3MULTIMODALRUN_H
#define MVC_ARCHITECTURES_GEMMA3MULTIMODAL_GEMMA3MULTIMODALRUN_H

#include <memory>

#include "architectures/common/ImageTokenRun.h"
#include "runtime/vision/ImageProcessor.h"

namespace mvc {

class Gemma3MultimodalRunHalf : public ImageTokenRunHalf {
public:
  static constexpr const char *kId = "gemma3_multimodal";
  /// Reads the entry's "vision" object and checks the programs it names against `model`.
  static absl::StatusOr<std::unique_ptr<RunHalf>> create(const Model &model,
                                                         const LanguageModelInfo &info);

  absl::string_view id() const override { return kId; }
  std::vector<InputSpec> extraInputs() const override;
  std::string imageMarker(const text::Tokenizer &tokenizer) const override;
  absl::StatusOr<PreparedImage> prepareImage(const vision::RgbImage &image,
                                             ImageSplitting splitting) const override;
  absl::StatusOr<PreparedImage> imageFromPixels(const HostTensor &pixels,
                                                const HostTensor *pixelMask) const override;
  absl::StatusOr<std::string> expandImages(absl::string_view text,
                                           absl::Span<const PreparedImage> images,
                                           const text::Tokenizer &tokenizer) const override;
  int64_t chunkEnd(const SequenceView &sequence, int64_t begin, int64_t wantEnd) const override;
  absl::Status setInputs(Model &model, const ForwardBatch &batch,
                         ForwardInputs &inputs) const override;
  std::map<std::string, std::vector<int64_t>> extraInputShapes(int64_t tokens,
                                                               int64_t images) const override;

private:
  Gemma3MultimodalRunHalf() = default;

  int32_t boiTokenId = 0, eoiTokenId = 0;
  vision::ImageProcessorConfig processor;
};

} // namespace mvc

#endif
