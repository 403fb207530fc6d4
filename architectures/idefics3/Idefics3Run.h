//===- Idefics3Run.h - Idefics3 / SmolVLM: the run half ---------*- C++ -*-===//
//
// What Idefics3ForConditionalGeneration and SmolVLMForConditionalGeneration need at run
// time (MLIR-free), on ImageTokenRunHalf:
//   images   Idefics3Processor.h's processor (the artifact's preprocessor_config.json, else
//            the vision program's size: max_image_size = image_size, longest_edge
//            4 x image_size): rows x cols tiles and the global image, each a frame of the
//            vision program; `layout` = {rows, cols};
//   prompt   each "<image>" becomes the tile and global-image token runs as the HF
//            processor writes them (image_seq_len = tokens_per_frame); SmolVLM takes the
//            token texts from tokenizer_config.json;
//   inputs   image_features and embed_source only: the Llama text model is causal over
//            image tokens too, so a prefill chunk may end anywhere;
//   vision   per frame, beside its pixels, the patches' position ids and mask
//            (patch_position_ids, patch_mask [F, patches]): 0, 1, 2, .. and all ones for a
//            whole frame; for a frame given with a pixel attention mask (an image smaller
//            than the frame, padded), transformers' bucketed positions and the real
//            patches (Idefics3Processor.h: realPatches, patchPositionIds).
// The manifest entry's "vision" object (FORMAT.md) configures it.
//
//===----------------------------------------------------------------------===//
#ifndef MVC_ARCHITECTURES_IDEFICS3_IDEFICS3RUN_H
#define MVC_ARCHITECTURES_IDEFICS3_IDEFICS3RUN_H

#include <memory>

#include "architectures/common/ImageTokenRun.h"
#include "architectures/idefics3/Idefics3Processor.h"

namespace mvc {

class Idefics3RunHalf : public ImageTokenRunHalf {
public:
  static constexpr const char *kId = "idefics3";
  /// Reads the entry's "vision" object and checks the programs it names against `model`.
  static absl::StatusOr<std::unique_ptr<RunHalf>> create(const Model &model,
                                                         const LanguageModelInfo &info);

  absl::string_view id() const override { return kId; }
  std::string imageMarker(const text::Tokenizer &tokenizer) const override;
  absl::StatusOr<PreparedImage> prepareImage(const vision::RgbImage &image,
                                             ImageSplitting splitting) const override;
  absl::StatusOr<PreparedImage> imageFromPixels(const HostTensor &pixels,
                                                const HostTensor *pixelMask) const override;
  absl::StatusOr<std::string> expandImages(absl::string_view text,
                                           absl::Span<const PreparedImage> images,
                                           const text::Tokenizer &tokenizer) const override;

protected:
  absl::Status readOwnVisionKeys(const Json &vision) override;
  std::vector<VisionInput> extraVisionInputs() const override;
  bool takesPixelMasks() const override { return true; }
  absl::Status checkPixelMask(const HostTensor &mask) const override;
  std::vector<HostTensor> extraVisionTensors(
      absl::Span<const ImageFrame *const> frames) const override;

private:
  Idefics3RunHalf() = default;

  int64_t patchSize = 0; // pixels a side of a patch; patchesPerSide = imageSize / patchSize
  idefics3::Idefics3ProcessorConfig processor;
  idefics3::ImageTokens tokens;
};

} // namespace mvc

#endif
