//===- Idefics3Run.cpp - Idefics3 / SmolVLM: the run half -----------------===//
#include "architectures/idefics3/Idefics3Run.h"

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
    prepared.pixels.push_back(std::move(pixels));
  }
  prepared.layout = {frames.rows, frames.cols};
  return prepared;
}

absl::StatusOr<PreparedImage> Idefics3RunHalf::imageFromPixels(const HostTensor &pixels) const {
  MVC_ASSIGN_OR_RETURN(PreparedImage prepared, ImageTokenRunHalf::imageFromPixels(pixels));
  prepared.layout = {0, 0}; // one frame: an unsplit image
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
  for (const PreparedImage &prepared : images)
    grids.push_back({prepared.layout.at(0), prepared.layout.at(1)});
  return idefics3::expandImageMarkers(text, grids, tokensPerFrame, tokens);
}

} // namespace mvc
