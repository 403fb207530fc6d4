//===- Gemma3MultimodalRun.cpp - Gemma 3 with images: the run half --------===//
#include "architectures/gemma3multimodal/Gemma3MultimodalRun.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "runtime/text/Tokenizer.h"
#include "runtime/util/StatusMacros.h"
#include "runtime/vision/Image.h"

namespace mvc {

absl::StatusOr<std::unique_ptr<RunHalf>>
Gemma3MultimodalRunHalf::create(const Model &model, const LanguageModelInfo &info) {
  std::unique_ptr<Gemma3MultimodalRunHalf> half(new Gemma3MultimodalRunHalf());
  MVC_ASSIGN_OR_RETURN(Json vision, half->readVision(model, info, "tokens_per_image"));
  MVC_ASSIGN_OR_RETURN(int64_t boi, intField(vision, "boi_token_id"));
  MVC_ASSIGN_OR_RETURN(int64_t eoi, intField(vision, "eoi_token_id"));
  half->boiTokenId = static_cast<int32_t>(boi);
  half->eoiTokenId = static_cast<int32_t>(eoi);
  if (!info.processorConfigJson.empty()) {
    MVC_ASSIGN_OR_RETURN(half->processor,
                         vision::ImageProcessorConfig::parse(std::string(info.processorConfigJson),
                                                             "preprocessor_config.json"));
  } else {
    half->processor.height = half->processor.width = half->imageSize;
  }
  return std::unique_ptr<RunHalf>(std::move(half));
}

std::vector<RunHalf::InputSpec> Gemma3MultimodalRunHalf::extraInputs() const {
  std::vector<InputSpec> inputs = ImageTokenRunHalf::extraInputs();
  inputs.push_back({"group_spans", DType::I32, 2});
  return inputs;
}

std::string Gemma3MultimodalRunHalf::imageMarker(const text::Tokenizer &tokenizer) const {
  return tokenizer.idToToken(boiTokenId).value_or("");
}

absl::StatusOr<PreparedImage> Gemma3MultimodalRunHalf::prepareImage(const vision::RgbImage &image,
                                                                    ImageSplitting splitting) const {
  vision::ImageProcessorConfig config = processor;
  if (splitting == ImageSplitting::kOn && !config.panAndScan)
    config.panAndScan = vision::PanAndScan{};
  if (splitting == ImageSplitting::kOff)
    config.panAndScan.reset();
  if (config.height != imageSize || config.width != imageSize)
    return absl::InvalidArgumentError(
        absl::StrCat("the preprocessor resizes to ", config.height, "x", config.width,
                     " but the vision model takes ", imageSize, "x", imageSize));
  // The image, then its pan-and-scan crops: each one frame of the vision program.
  vision::ProcessedImage processed = vision::preprocess(image, config);
  PreparedImage prepared;
  for (int64_t i = 0; i <= processed.numCrops; ++i) {
    MVC_ASSIGN_OR_RETURN(HostTensor pixels, frameTensor(processed.pixelValues.data(), i));
    prepared.frames.push_back({std::move(pixels), HostTensor()});
  }
  prepared.layout = {processed.numCrops};
  return prepared;
}

absl::StatusOr<PreparedImage>
Gemma3MultimodalRunHalf::imageFromPixels(const HostTensor &pixels,
                                         const HostTensor *pixelMask) const {
  MVC_ASSIGN_OR_RETURN(PreparedImage prepared,
                       ImageTokenRunHalf::imageFromPixels(pixels, pixelMask));
  prepared.layout = {0};
  return prepared;
}

absl::StatusOr<std::string>
Gemma3MultimodalRunHalf::expandImages(absl::string_view text,
                                      absl::Span<const PreparedImage> images,
                                      const text::Tokenizer &tokenizer) const {
  MVC_ASSIGN_OR_RETURN(std::string boi, tokenText(tokenizer, boiTokenId, "begin-of-image"));
  MVC_ASSIGN_OR_RETURN(std::string eoi, tokenText(tokenizer, eoiTokenId, "end-of-image"));
  MVC_ASSIGN_OR_RETURN(std::string image, tokenText(tokenizer, imageTokenId, "image"));
  int64_t markers = 0;
  for (size_t at = text.find(boi); at != absl::string_view::npos;
       at = text.find(boi, at + boi.size()))
    ++markers;
  if (markers != static_cast<int64_t>(images.size()))
    return absl::InvalidArgumentError(absl::StrCat(
        "the prompt has ", markers, " image marker", markers == 1 ? "" : "s", " (", boi, ") but ",
        images.size(), " image", images.size() == 1 ? " was" : "s were", " given"));
  std::string span = "\n\n" + boi;
  for (int64_t i = 0; i < tokensPerFrame; ++i)
    span += image;
  span += eoi + "\n\n";
  std::string expanded;
  size_t from = 0, index = 0;
  for (size_t at = text.find(boi); at != absl::string_view::npos;
       at = text.find(boi, from), ++index) {
    int64_t crops = images[index].layout.empty() ? 0 : images[index].layout[0];
    std::string replacement = span;
    if (crops > 0) {
      replacement =
          "Here is the original image " + span + " and here are some crops to help you see better ";
      for (int64_t c = 0; c < crops; ++c)
        replacement += (c ? " " : "") + span;
    }
    absl::StrAppend(&expanded, text.substr(from, at - from), replacement);
    from = at + boi.size();
  }
  absl::StrAppend(&expanded, text.substr(from));
  return expanded;
}

int64_t Gemma3MultimodalRunHalf::chunkEnd(const SequenceView &sequence, int64_t begin,
                                          int64_t wantEnd) const {
  absl::Span<const int32_t> tokens = sequence.tokens.subspan(0, sequence.promptLength);
  if (wantEnd >= static_cast<int64_t>(tokens.size()) || tokens[wantEnd - 1] != imageTokenId ||
      tokens[wantEnd] != imageTokenId)
    return wantEnd; // the cut does not fall inside a run of image tokens
  int64_t start = wantEnd - 1;
  while (start > begin && tokens[start - 1] == imageTokenId)
    --start;
  return start > begin ? start : imageRunEnd(tokens, wantEnd);
}

absl::Status Gemma3MultimodalRunHalf::setInputs(Model &model, const ForwardBatch &batch,
                                                ForwardInputs &inputs) const {
  MVC_RETURN_IF_ERROR(ImageTokenRunHalf::setInputs(model, batch, inputs));
  // A run of image tokens is one bidirectional group, in positions (= indices).
  int64_t numTokens = static_cast<int64_t>(batch.tokens.size());
  std::vector<int32_t> groupSpans(2 * numTokens, 0);
  for (size_t m = 0; m < batch.members.size(); ++m) {
    const ForwardBatch::Member &member = batch.members[m];
    absl::Span<const int32_t> all = member.sequence.tokens.subspan(0, member.sequence.promptLength);
    int64_t end = std::min<int64_t>(member.begin + member.count, all.size());
    for (int64_t i = member.begin; i < end; ++i) {
      if (all[i] != imageTokenId)
        continue;
      int64_t start = i;
      while (start > 0 && all[start - 1] == imageTokenId)
        --start;
      int64_t row = batch.rowOffsets[m] + (i - member.begin);
      groupSpans[2 * row] = static_cast<int32_t>(start);
      groupSpans[2 * row + 1] = static_cast<int32_t>(imageRunEnd(all, i));
    }
  }
  inputs["group_spans"] = i32Tensor(groupSpans, {numTokens, 2});
  return absl::OkStatus();
}

std::map<std::string, std::vector<int64_t>>
Gemma3MultimodalRunHalf::extraInputShapes(int64_t tokens, int64_t images) const {
  std::map<std::string, std::vector<int64_t>> shapes =
      ImageTokenRunHalf::extraInputShapes(tokens, images);
  shapes["group_spans"] = {tokens, 2};
  return shapes;
}

} // namespace mvc
