//===- Gemma3MultimodalRun.cpp - Gemma 3 with images: the run half --------===//
#include "architectures/gemma3multimodal/Gemma3MultimodalRun.h"

#include <algorithm>
#include <cstring>
#include <limits>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "nlohmann/json.hpp"
#include "runtime/text/Tokenizer.h"
#include "runtime/util/StatusMacros.h"
#include "runtime/vision/Image.h"

namespace mvc {

namespace {

using Json = nlohmann::ordered_json;

absl::Status fieldError(absl::string_view field, absl::string_view message) {
  return absl::InvalidArgumentError(
      absl::StrCat("manifest: language_model.vision.", field, ": ", message));
}

absl::StatusOr<int64_t> intField(const Json &vision, const char *key) {
  auto it = vision.find(key);
  if (it == vision.end())
    return fieldError(key, "missing");
  if (!it->is_number_integer() || it->get<int64_t>() < 0 ||
      it->get<int64_t>() > std::numeric_limits<int32_t>::max())
    return fieldError(key,
                      absl::StrCat("expected an integer in [0, 2147483647], got ", it->dump()));
  return it->get<int64_t>();
}

const ProgramSignature *findProgram(const std::vector<ProgramSignature> &programs,
                                    absl::string_view name) {
  for (const ProgramSignature &program : programs)
    if (program.name == name)
      return &program;
  return nullptr;
}

/// A printed dimension that is a constant, or -1.
int64_t constantDim(const std::string &dim) {
  if (dim.empty() || dim.find_first_not_of("0123456789") != std::string::npos)
    return -1;
  return std::stoll(dim);
}

/// The index just past the run of image tokens containing `at`.
int64_t runEnd(absl::Span<const int32_t> tokens, int64_t at, int32_t image) {
  while (at < static_cast<int64_t>(tokens.size()) && tokens[at] == image)
    ++at;
  return at;
}

} // namespace

absl::StatusOr<std::unique_ptr<RunHalf>>
Gemma3MultimodalRunHalf::create(const Model &model, const LanguageModelInfo &info) {
  Json entry = Json::parse(info.entryJson, nullptr, /*allow_exceptions=*/false);
  auto vision = entry.is_object() ? entry.find("vision") : entry.end();
  if (vision == entry.end() || !vision->is_object())
    return absl::InvalidArgumentError(
        "manifest: language_model.vision: a gemma3_multimodal model needs a vision object");
  std::unique_ptr<Gemma3MultimodalRunHalf> half(new Gemma3MultimodalRunHalf());
  auto program = vision->find("program");
  if (program == vision->end() || !program->is_string())
    return fieldError("program", "expected a program name");
  half->visionProgram = program->get<std::string>();
  MVC_ASSIGN_OR_RETURN(int64_t image, intField(*vision, "image_token_id"));
  MVC_ASSIGN_OR_RETURN(int64_t boi, intField(*vision, "boi_token_id"));
  MVC_ASSIGN_OR_RETURN(int64_t eoi, intField(*vision, "eoi_token_id"));
  MVC_ASSIGN_OR_RETURN(half->tokensPerImage, intField(*vision, "tokens_per_image"));
  MVC_ASSIGN_OR_RETURN(half->imageSize, intField(*vision, "image_size"));
  MVC_ASSIGN_OR_RETURN(half->numChannels, intField(*vision, "num_channels"));
  half->imageTokenId = static_cast<int32_t>(image);
  half->boiTokenId = static_cast<int32_t>(boi);
  half->eoiTokenId = static_cast<int32_t>(eoi);
  half->vocabSize = info.vocabSize;
  if (half->tokensPerImage == 0)
    return fieldError("tokens_per_image", "must be positive");

  std::vector<ProgramSignature> programs = model.programs();
  const ProgramSignature *encoder = findProgram(programs, half->visionProgram);
  if (!encoder)
    return fieldError("program", absl::StrCat("no program named '", half->visionProgram, "'"));
  std::vector<std::string> pixelShape = {"1", std::to_string(half->numChannels),
                                         std::to_string(half->imageSize),
                                         std::to_string(half->imageSize)};
  std::string where = absl::StrCat("program '", half->visionProgram, "'");
  if (encoder->inputs.size() != 1 || encoder->inputs[0].name != "pixel_values" ||
      encoder->inputs[0].dtype != DType::F32 || encoder->inputs[0].shape != pixelShape)
    return fieldError("program", absl::StrCat(where, " must take one input pixel_values f32 [",
                                              absl::StrJoin(pixelShape, ", "), "]"));
  const ProgramSignature *forward = findProgram(programs, info.program);
  for (const TensorSignature &input : forward->inputs)
    if (input.name == "image_features" && input.shape.size() == 2)
      half->imageHidden = constantDim(input.shape[1]);
  if (half->imageHidden <= 0)
    return absl::InvalidArgumentError(
        absl::StrCat("manifest: language_model.program: program '", info.program,
                     "' must take image_features f32 [I, H] with a constant row width H"));
  if (encoder->outputs.size() != 1 || encoder->outputs[0].name != "image_features" ||
      encoder->outputs[0].dtype != DType::F32 ||
      encoder->outputs[0].shape != std::vector<std::string>{std::to_string(half->tokensPerImage),
                                                            std::to_string(half->imageHidden)})
    return fieldError("program", absl::StrCat(where, " must return image_features f32 [",
                                              half->tokensPerImage, ", ", half->imageHidden, "]"));

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
  return {{"image_features", DType::F32, 2},
          {"embed_source", DType::I32, 1},
          {"group_spans", DType::I32, 2}};
}

std::string Gemma3MultimodalRunHalf::imageMarker(const text::Tokenizer &tokenizer) const {
  return tokenizer.idToToken(boiTokenId).value_or("");
}

absl::StatusOr<PreparedImage> Gemma3MultimodalRunHalf::prepareImage(const vision::RgbImage &image,
                                                                    bool panAndScan) const {
  vision::ImageProcessorConfig config = processor;
  if (panAndScan && !config.panAndScan)
    config.panAndScan = vision::PanAndScan{};
  if (config.height != imageSize || config.width != imageSize)
    return absl::InvalidArgumentError(
        absl::StrCat("the preprocessor resizes to ", config.height, "x", config.width,
                     " but the vision model takes ", imageSize, "x", imageSize));
  // The image, then its pan-and-scan crops: each one image of the vision program.
  vision::ProcessedImage processed = vision::preprocess(image, config);
  size_t floats = static_cast<size_t>(numChannels * imageSize * imageSize);
  PreparedImage prepared;
  for (int64_t i = 0; i <= processed.numCrops; ++i) {
    MVC_ASSIGN_OR_RETURN(HostTensor pixels,
                         HostTensor::fromBytes(DType::F32, {numChannels, imageSize, imageSize},
                                               processed.pixelValues.data() + i * floats,
                                               floats * sizeof(float)));
    prepared.pixels.push_back(std::move(pixels));
  }
  prepared.layout = {processed.numCrops};
  return prepared;
}

absl::StatusOr<PreparedImage>
Gemma3MultimodalRunHalf::imageFromPixels(const HostTensor &pixels) const {
  std::vector<int64_t> shape = pixels.shape();
  if (shape.size() == 4 && shape[0] == 1)
    shape.erase(shape.begin());
  if (pixels.dtype() != DType::F32 ||
      shape != std::vector<int64_t>{numChannels, imageSize, imageSize})
    return absl::InvalidArgumentError(absl::StrCat(
        "pixel values must be f32 [", numChannels, ", ", imageSize, ", ", imageSize, "], got ",
        dtypeName(pixels.dtype()), " [", absl::StrJoin(pixels.shape(), ", "), "]"));
  PreparedImage prepared;
  MVC_ASSIGN_OR_RETURN(HostTensor image,
                       HostTensor::fromBytes(DType::F32, shape, pixels.data(), pixels.byteSize()));
  prepared.pixels.push_back(std::move(image));
  prepared.layout = {0};
  return prepared;
}

absl::StatusOr<std::string>
Gemma3MultimodalRunHalf::expandImages(absl::string_view text,
                                      absl::Span<const PreparedImage> images,
                                      const text::Tokenizer &tokenizer) const {
  auto tokenText = [&](int32_t id, const char *what) -> absl::StatusOr<std::string> {
    std::optional<std::string> token = tokenizer.idToToken(id);
    if (!token)
      return absl::FailedPreconditionError(absl::StrCat(
          "the tokenizer has no ", what, " token (id ", id, ") the model's images need"));
    return *token;
  };
  MVC_ASSIGN_OR_RETURN(std::string boi, tokenText(boiTokenId, "begin-of-image"));
  MVC_ASSIGN_OR_RETURN(std::string eoi, tokenText(eoiTokenId, "end-of-image"));
  MVC_ASSIGN_OR_RETURN(std::string image, tokenText(imageTokenId, "image"));
  int64_t markers = 0;
  for (size_t at = text.find(boi); at != absl::string_view::npos;
       at = text.find(boi, at + boi.size()))
    ++markers;
  if (markers != static_cast<int64_t>(images.size()))
    return absl::InvalidArgumentError(absl::StrCat(
        "the prompt has ", markers, " image marker", markers == 1 ? "" : "s", " (", boi, ") but ",
        images.size(), " image", images.size() == 1 ? " was" : "s were", " given"));
  std::string span = "\n\n" + boi;
  for (int64_t i = 0; i < tokensPerImage; ++i)
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

absl::Status Gemma3MultimodalRunHalf::checkPrompt(absl::Span<const int32_t> prompt,
                                                  absl::Span<const HostTensor> images) const {
  int64_t imageTokens = std::count(prompt.begin(), prompt.end(), imageTokenId);
  if (imageTokens != static_cast<int64_t>(images.size()) * tokensPerImage)
    return absl::InvalidArgumentError(absl::StrCat("holds ", imageTokens, " image tokens (id ",
                                                   imageTokenId, ") but ", images.size(), " image",
                                                   images.size() == 1 ? "" : "s", " of ",
                                                   tokensPerImage, " tokens each were given"));
  std::vector<int64_t> expected = {numChannels, imageSize, imageSize};
  for (size_t j = 0; j < images.size(); ++j) {
    std::vector<int64_t> shape = images[j].shape();
    if (shape.size() == 4 && shape[0] == 1)
      shape.erase(shape.begin());
    if (images[j].dtype() != DType::F32 || shape != expected)
      return absl::InvalidArgumentError(absl::StrCat("image ", j, ": pixel values must be f32 [",
                                                     numChannels, ", ", imageSize, ", ", imageSize,
                                                     "], got ", dtypeName(images[j].dtype()), " [",
                                                     absl::StrJoin(images[j].shape(), ", "), "]"));
  }
  return absl::OkStatus();
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
  return start > begin ? start : runEnd(tokens, wantEnd, imageTokenId);
}

absl::StatusOr<HostTensor> Gemma3MultimodalRunHalf::encode(Model &model,
                                                           const HostTensor &pixels) const {
  MVC_ASSIGN_OR_RETURN(HostTensor input,
                       HostTensor::fromBytes(DType::F32, {1, numChannels, imageSize, imageSize},
                                             pixels.data(), pixels.byteSize()));
  std::vector<HostTensor> inputs;
  inputs.push_back(std::move(input));
  MVC_ASSIGN_OR_RETURN(std::vector<HostTensor> out,
                       model.execute(visionProgram, std::move(inputs)));
  if (out[0].shape() != std::vector<int64_t>{tokensPerImage, imageHidden})
    return absl::InternalError(absl::StrCat("program '", visionProgram,
                                            "' returned image_features of shape [",
                                            absl::StrJoin(out[0].shape(), ", "), "]"));
  return std::move(out[0]);
}

absl::Status Gemma3MultimodalRunHalf::setInputs(Model &model, const ForwardBatch &batch,
                                                ForwardInputs &inputs) const {
  int64_t numTokens = static_cast<int64_t>(batch.tokens.size());
  std::vector<int32_t> embedSource(numTokens, -1), groupSpans(2 * numTokens, 0);
  std::vector<HostTensor> features;
  int32_t featureRows = 0;
  int32_t *tokens = inputs.at("tokens").dataAs<int32_t>();
  for (size_t m = 0; m < batch.members.size(); ++m) {
    const ForwardBatch::Member &member = batch.members[m];
    // Image tokens are the prompt's: a generated token is text whatever its id.
    absl::Span<const int32_t> all = member.sequence.tokens.subspan(0, member.sequence.promptLength);
    if (member.begin >= static_cast<int64_t>(all.size()))
      continue;
    absl::Span<const int32_t> mine = all.subspan(member.begin, member.count);
    if (std::find(mine.begin(), mine.end(), imageTokenId) == mine.end())
      continue;
    // The k-th image token of the sequence takes row k % tokensPerImage of image
    // k / tokensPerImage; this call encodes the images its image tokens fall in.
    int64_t before = std::count(all.begin(), all.begin() + member.begin, imageTokenId);
    int64_t inCall = std::count(mine.begin(), mine.end(), imageTokenId);
    int64_t first = before / tokensPerImage, last = (before + inCall - 1) / tokensPerImage;
    if (last >= static_cast<int64_t>(member.sequence.images.size()))
      return absl::InvalidArgumentError(absl::StrCat("a sequence's image tokens need image ", last,
                                                     " but it has ",
                                                     member.sequence.images.size()));
    int32_t base = featureRows - static_cast<int32_t>(first * tokensPerImage);
    for (int64_t image = first; image <= last; ++image) {
      MVC_ASSIGN_OR_RETURN(HostTensor rows, encode(model, member.sequence.images[image]));
      features.push_back(std::move(rows));
      featureRows += static_cast<int32_t>(tokensPerImage);
    }
    int32_t row = batch.rowOffsets[m];
    int64_t k = before;
    for (int64_t i = member.begin; i < member.begin + static_cast<int64_t>(mine.size());
         ++i, ++row) {
      if (all[i] != imageTokenId)
        continue;
      embedSource[row] = base + static_cast<int32_t>(k++);
      // A run of image tokens is one bidirectional group, in positions (= indices).
      int64_t start = i;
      while (start > 0 && all[start - 1] == imageTokenId)
        --start;
      groupSpans[2 * row] = static_cast<int32_t>(start);
      groupSpans[2 * row + 1] = static_cast<int32_t>(runEnd(all, i, imageTokenId));
      // An image token id outside the text vocabulary is embedded as id 0, as transformers
      // does; its embedding is replaced by image features anyway.
      if (tokens[row] >= vocabSize)
        tokens[row] = 0;
    }
  }
  HostTensor imageFeatures = HostTensor::allocate(DType::F32, {featureRows, imageHidden});
  uint8_t *to = imageFeatures.data();
  for (const HostTensor &rows : features) {
    std::memcpy(to, rows.data(), rows.byteSize());
    to += rows.byteSize();
  }
  inputs["image_features"] = std::move(imageFeatures);
  inputs["embed_source"] = i32Tensor(embedSource, {numTokens});
  inputs["group_spans"] = i32Tensor(groupSpans, {numTokens, 2});
  return absl::OkStatus();
}

absl::StatusOr<uint64_t> Gemma3MultimodalRunHalf::imageActivationBytes(const Model &model,
                                                                       int64_t numImages) const {
  if (numImages == 0)
    return uint64_t{0};
  MVC_ASSIGN_OR_RETURN(
      uint64_t encoder,
      model.estimateActivationBytes(visionProgram, {{1, numChannels, imageSize, imageSize}}));
  return encoder + static_cast<uint64_t>(numImages * tokensPerImage * imageHidden) * 4;
}

std::map<std::string, std::vector<int64_t>>
Gemma3MultimodalRunHalf::extraInputShapes(int64_t tokens, int64_t images) const {
  return {{"image_features", {images * tokensPerImage, imageHidden}},
          {"embed_source", {tokens}},
          {"group_spans", {tokens, 2}}};
}

} // namespace mvc
