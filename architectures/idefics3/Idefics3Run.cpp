//===- Idefics3Run.cpp - Idefics3 / SmolVLM: the run half -----------------===//
#include "architectures/idefics3/Idefics3Run.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "runtime/text/Tokenizer.h"
#include "runtime/util/StatusMacros.h"

namespace mvc {

absl::StatusOr<std::unique_ptr<RunHalf>> Idefics3RunHalf::create(const Model &model,
                                                                 const LanguageModelInfo &info) {
  std::unique_ptr<Idefics3RunHalf> half(new Idefics3RunHalf());
  MVC_ASSIGN_OR_RETURN(Json vision, half->readVision(model, info, "tokens_per_frame"));
  auto tokenTexts = vision.find("image_token_texts");
  if (tokenTexts == vision.end() || !tokenTexts->is_string() ||
      (*tokenTexts != "idefics3" && *tokenTexts != "tokenizer_config"))
    return fieldError("image_token_texts",
                      "expected \"idefics3\" (fixed) or \"tokenizer_config\" (SmolVLM)");
  if (*tokenTexts == "tokenizer_config" && !info.tokenizerConfigJson.empty()) {
    MVC_ASSIGN_OR_RETURN(half->tokens, idefics3::ImageTokens::fromTokenizerConfig(
                                           info.tokenizerConfigJson, "tokenizer_config.json"));
  }
  if (!info.processorConfigJson.empty()) {
    MVC_ASSIGN_OR_RETURN(half->processor,
                         idefics3::Idefics3ProcessorConfig::parse(info.processorConfigJson,
                                                                  "preprocessor_config.json"));
  } else {
    half->processor.maxImageSize = half->imageSize;
    half->processor.longestEdge = 4 * half->imageSize;
  }
  if (half->processor.maxImageSize != half->imageSize)
    return absl::InvalidArgumentError(absl::StrCat(
        "preprocessor_config.json: max_image_size.longest_edge ", half->processor.maxImageSize,
        " differs from the vision program's image size ", half->imageSize));
  if (half->numChannels != 3)
    return fieldError("num_channels", absl::StrCat("the image processor makes 3 channels, the "
                                                   "vision program takes ",
                                                   half->numChannels));
  return std::unique_ptr<RunHalf>(std::move(half));
}

std::string Idefics3RunHalf::imageMarker(const text::Tokenizer &) const {
  return tokens.imageToken;
}

absl::StatusOr<PreparedImage> Idefics3RunHalf::prepareImage(const vision::RgbImage &image,
                                                            ImageSplitting splitting) const {
  idefics3::Idefics3ProcessorConfig config = processor;
  if (splitting != ImageSplitting::kDefault)
    config.doImageSplitting = splitting == ImageSplitting::kOn;
  idefics3::ImageFrames frames = idefics3::process(image, config);
  PreparedImage prepared;
  for (int64_t i = 0; i < frames.frames; ++i) {
    MVC_ASSIGN_OR_RETURN(HostTensor pixels, frameTensor(frames.pixelValues.data(), i));
    prepared.frames.push_back({std::move(pixels), HostTensor()});
  }
  prepared.layout = {frames.rows, frames.cols};
  return prepared;
}

absl::StatusOr<PreparedImage> Idefics3RunHalf::imageFromPixels(const HostTensor &pixels,
                                                               const HostTensor *pixelMask) const {
  // A frame whose values are all exactly 0 is batch padding (the processor's frames are
  // normalized: black is -1), which transformers drops before the tower, mask and all: so
  // does mvc, so HF's pixel_values[b] and pixel_attention_mask[b] can be given as they are.
  const float *values = pixels.dtype() == DType::F32 ? pixels.dataAs<float>() : nullptr;
  bool padding = values && std::all_of(values, values + pixels.byteSize() / sizeof(float),
                                       [](float v) { return v == 0.0f; });
  MVC_ASSIGN_OR_RETURN(PreparedImage prepared,
                       ImageTokenRunHalf::imageFromPixels(pixels, padding ? nullptr : pixelMask));
  prepared.layout = {0, 0}; // one frame: an unsplit image
  if (padding)
    prepared.frames.clear();
  return prepared;
}

absl::StatusOr<std::string> Idefics3RunHalf::expandImages(absl::string_view text,
                                                          absl::Span<const PreparedImage> images,
                                                          const text::Tokenizer &tokenizer) const {
  // The image token must be one token of the vocabulary, with the id the model merges at.
  MVC_ASSIGN_OR_RETURN(std::string image, tokenText(tokenizer, imageTokenId, "image"));
  if (image != tokens.imageToken)
    return absl::FailedPreconditionError(absl::StrCat(
        "the tokenizer's token ", imageTokenId, " (the model's image token) is '", image,
        "', not the processor's image token '", tokens.imageToken, "'"));
  std::vector<idefics3::ImageGrid> grids;
  for (size_t i = 0; i < images.size(); ++i) {
    if (images[i].frames.empty())
      return absl::InvalidArgumentError(absl::StrCat(
          "image ", i, "'s pixel values are all zero: a padding frame, which the model drops "
          "(give such frames only with --prompt-ids)"));
    grids.push_back({images[i].layout.at(0), images[i].layout.at(1)});
  }
  return idefics3::expandImageMarkers(text, grids, tokensPerFrame, tokens);
}

absl::Status Idefics3RunHalf::readOwnVisionKeys(const Json &vision) {
  MVC_ASSIGN_OR_RETURN(patchSize, intField(vision, "patch_size"));
  if (patchSize == 0 || imageSize % patchSize != 0)
    return fieldError("patch_size", absl::StrCat("must divide image_size ", imageSize, ", got ",
                                                 patchSize));
  return absl::OkStatus();
}

std::vector<ImageTokenRunHalf::VisionInput> Idefics3RunHalf::extraVisionInputs() const {
  const int64_t side = imageSize / patchSize;
  return {{"patch_position_ids", side * side}, {"patch_mask", side * side}};
}

absl::Status Idefics3RunHalf::checkPixelMask(const HostTensor &mask) const {
  return idefics3::realPatches(absl::MakeConstSpan(mask.data(), mask.byteSize()), imageSize,
                               patchSize)
      .status();
}

std::vector<HostTensor>
Idefics3RunHalf::extraVisionTensors(absl::Span<const ImageFrame *const> frames) const {
  const int64_t side = imageSize / patchSize, count = static_cast<int64_t>(frames.size());
  const size_t patches = static_cast<size_t>(side * side);
  std::vector<int32_t> positions, mask;
  positions.reserve(patches * frames.size());
  mask.reserve(patches * frames.size());
  for (const ImageFrame *frame : frames) {
    idefics3::PatchRect real{side, side};
    if (frame->pixelMask.byteSize() != 0) {
      // Checked where the mask entered (checkPixelMask).
      absl::StatusOr<idefics3::PatchRect> rect = idefics3::realPatches(
          absl::MakeConstSpan(frame->pixelMask.data(), frame->pixelMask.byteSize()), imageSize,
          patchSize);
      if (rect.ok())
        real = *rect;
    }
    std::vector<int32_t> ids = idefics3::patchPositionIds(side, real);
    positions.insert(positions.end(), ids.begin(), ids.end());
    for (int64_t i = 0; i < side; ++i)
      for (int64_t j = 0; j < side; ++j)
        mask.push_back(i < real.rows && j < real.cols ? 1 : 0);
  }
  std::vector<HostTensor> out;
  out.push_back(i32Tensor(positions, {count, side * side}));
  out.push_back(i32Tensor(mask, {count, side * side}));
  return out;
}

} // namespace mvc
