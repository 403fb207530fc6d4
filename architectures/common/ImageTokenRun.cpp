//===- ImageTokenRun.cpp - run half of a model whose images are token runs --===//
#include "architectures/common/ImageTokenRun.h"

#include <algorithm>
#include <cstring>
#include <limits>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "runtime/text/Tokenizer.h"
#include "runtime/util/StatusMacros.h"

namespace mvc {

namespace {

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

/// `shape` without a leading 1 (one frame given as a batch of one).
std::vector<int64_t> frameShape(std::vector<int64_t> shape) {
  if (shape.size() == 4 && shape[0] == 1)
    shape.erase(shape.begin());
  return shape;
}

} // namespace

absl::Status ImageTokenRunHalf::fieldError(absl::string_view field, absl::string_view message) {
  return absl::InvalidArgumentError(
      absl::StrCat("manifest: language_model.vision.", field, ": ", message));
}

absl::StatusOr<int64_t> ImageTokenRunHalf::intField(const Json &vision, const char *key) {
  auto it = vision.find(key);
  if (it == vision.end())
    return fieldError(key, "missing");
  if (!it->is_number_integer() || it->get<int64_t>() < 0 ||
      it->get<int64_t>() > std::numeric_limits<int32_t>::max())
    return fieldError(key,
                      absl::StrCat("expected an integer in [0, 2147483647], got ", it->dump()));
  return it->get<int64_t>();
}

absl::StatusOr<std::string> ImageTokenRunHalf::tokenText(const text::Tokenizer &tokenizer,
                                                         int32_t id, absl::string_view what) {
  std::optional<std::string> token = tokenizer.idToToken(id);
  if (!token)
    return absl::FailedPreconditionError(absl::StrCat(
        "the tokenizer has no ", what, " token (id ", id, ") the model's images need"));
  return *token;
}

absl::StatusOr<ImageTokenRunHalf::Json>
ImageTokenRunHalf::readVision(const Model &model, const LanguageModelInfo &info,
                              const char *tokensKey) {
  Json entry = Json::parse(info.entryJson, nullptr, /*allow_exceptions=*/false);
  auto vision = entry.is_object() ? entry.find("vision") : entry.end();
  if (vision == entry.end() || !vision->is_object())
    return absl::InvalidArgumentError(absl::StrCat("manifest: language_model.vision: a '",
                                                   info.architecture,
                                                   "' model needs a vision object"));
  auto program = vision->find("program");
  if (program == vision->end() || !program->is_string())
    return fieldError("program", "expected a program name");
  visionProgram = program->get<std::string>();
  MVC_ASSIGN_OR_RETURN(int64_t image, intField(*vision, "image_token_id"));
  MVC_ASSIGN_OR_RETURN(tokensPerFrame, intField(*vision, tokensKey));
  MVC_ASSIGN_OR_RETURN(imageSize, intField(*vision, "image_size"));
  MVC_ASSIGN_OR_RETURN(numChannels, intField(*vision, "num_channels"));
  imageTokenId = static_cast<int32_t>(image);
  vocabSize = info.vocabSize;
  if (tokensPerFrame == 0)
    return fieldError(tokensKey, "must be positive");
  MVC_RETURN_IF_ERROR(readOwnVisionKeys(*vision));

  std::vector<ProgramSignature> programs = model.programs();
  const ProgramSignature *encoder = findProgram(programs, visionProgram);
  if (!encoder)
    return fieldError("program", absl::StrCat("no program named '", visionProgram, "'"));
  // pixel_values [F, C, S, S]: F a symbol (frames, batched: every frame of a call in one
  // execution) or 1 (one frame per execution).
  std::string where = absl::StrCat("program '", visionProgram, "'");
  std::vector<std::string> frameDims = {std::to_string(numChannels), std::to_string(imageSize),
                                         std::to_string(imageSize)};
  const std::vector<VisionInput> extras = extraVisionInputs();
  const std::vector<std::string> *pixels =
      encoder->inputs.size() == 1 + extras.size() ? &encoder->inputs[0].shape : nullptr;
  std::string extraText;
  for (const VisionInput &extra : extras)
    absl::StrAppend(&extraText, ", ", extra.name, " i32 [F, ", extra.perFrame, "]");
  if (!pixels || encoder->inputs[0].name != "pixel_values" ||
      encoder->inputs[0].dtype != DType::F32 || pixels->size() != 4 ||
      !std::equal(frameDims.begin(), frameDims.end(), pixels->begin() + 1) ||
      (constantDim((*pixels)[0]) != 1 && constantDim((*pixels)[0]) != -1))
    return fieldError("program", absl::StrCat(where, " must take the inputs pixel_values f32 [F, ",
                                              absl::StrJoin(frameDims, ", "), "]", extraText,
                                              " (F = 1 or dynamic)"));
  batchedFrames = constantDim((*pixels)[0]) == -1;
  for (size_t i = 0; i < extras.size(); ++i) {
    const TensorSignature &input = encoder->inputs[i + 1];
    if (input.name != extras[i].name || input.dtype != DType::I32 || input.shape.size() != 2 ||
        input.shape[0] != (*pixels)[0] || input.shape[1] != std::to_string(extras[i].perFrame))
      return fieldError("program", absl::StrCat(where, " must take the inputs pixel_values f32 [F, ",
                                                absl::StrJoin(frameDims, ", "), "]", extraText,
                                                " (F = 1 or dynamic)"));
  }
  const ProgramSignature *forward = findProgram(programs, info.program);
  for (const TensorSignature &input : forward->inputs)
    if (input.name == "image_features" && input.shape.size() == 2)
      imageHidden = constantDim(input.shape[1]);
  if (imageHidden <= 0)
    return absl::InvalidArgumentError(
        absl::StrCat("manifest: language_model.program: program '", info.program,
                     "' must take image_features f32 [I, H] with a constant row width H"));
  // image_features [F · tokens_per_frame, H]; the rows of a batched call are checked when
  // it returns.
  if (encoder->outputs.size() != 1 || encoder->outputs[0].name != "image_features" ||
      encoder->outputs[0].dtype != DType::F32 || encoder->outputs[0].shape.size() != 2 ||
      encoder->outputs[0].shape[1] != std::to_string(imageHidden) ||
      (!batchedFrames && encoder->outputs[0].shape[0] != std::to_string(tokensPerFrame)))
    return fieldError("program", absl::StrCat(where, " must return image_features f32 [F x ",
                                              tokensPerFrame, ", ", imageHidden, "]"));
  return *vision;
}

std::vector<RunHalf::InputSpec> ImageTokenRunHalf::extraInputs() const {
  return {{"image_features", DType::F32, 2}, {"embed_source", DType::I32, 1}};
}

absl::StatusOr<HostTensor> ImageTokenRunHalf::frameTensor(const float *frames,
                                                          int64_t index) const {
  size_t floats = static_cast<size_t>(numChannels * imageSize * imageSize);
  return HostTensor::fromBytes(DType::F32, {numChannels, imageSize, imageSize},
                               frames + index * floats, floats * sizeof(float));
}

absl::StatusOr<PreparedImage> ImageTokenRunHalf::imageFromPixels(const HostTensor &pixels,
                                                                const HostTensor *pixelMask) const {
  std::vector<int64_t> shape = frameShape(pixels.shape());
  if (pixels.dtype() != DType::F32 ||
      shape != std::vector<int64_t>{numChannels, imageSize, imageSize})
    return absl::InvalidArgumentError(absl::StrCat(
        "pixel values must be f32 [", numChannels, ", ", imageSize, ", ", imageSize, "], got ",
        dtypeName(pixels.dtype()), " [", absl::StrJoin(pixels.shape(), ", "), "]"));
  ImageFrame frame;
  MVC_ASSIGN_OR_RETURN(frame.pixels,
                       HostTensor::fromBytes(DType::F32, shape, pixels.data(), pixels.byteSize()));
  if (pixelMask) {
    if (!takesPixelMasks())
      return absl::InvalidArgumentError(
          "this model takes no pixel attention mask (its frames are always whole images)");
    // [S, S] or [1, S, S] of u8, i32 or i64 (as transformers' processors write it): u8 0/1.
    std::vector<int64_t> maskShape = pixelMask->shape();
    if (maskShape.size() == 3 && maskShape[0] == 1)
      maskShape.erase(maskShape.begin());
    DType type = pixelMask->dtype();
    if ((type != DType::U8 && type != DType::I32 && type != DType::I64) ||
        maskShape != std::vector<int64_t>{imageSize, imageSize})
      return absl::InvalidArgumentError(absl::StrCat(
          "a pixel attention mask must be u8, i32 or i64 [", imageSize, ", ", imageSize,
          "], got ", dtypeName(type), " [", absl::StrJoin(pixelMask->shape(), ", "), "]"));
    frame.pixelMask = HostTensor::allocate(DType::U8, maskShape);
    const size_t count = static_cast<size_t>(imageSize * imageSize);
    for (size_t i = 0; i < count; ++i) {
      bool on = type == DType::U8    ? pixelMask->data()[i] != 0
                : type == DType::I32 ? pixelMask->dataAs<int32_t>()[i] != 0
                                     : pixelMask->dataAs<int64_t>()[i] != 0;
      frame.pixelMask.data()[i] = on ? 1 : 0;
    }
    MVC_RETURN_IF_ERROR(checkPixelMask(frame.pixelMask));
  }
  PreparedImage prepared;
  prepared.frames.push_back(std::move(frame));
  return prepared;
}

absl::Status ImageTokenRunHalf::checkPrompt(absl::Span<const int32_t> prompt,
                                            absl::Span<const ImageFrame> frames) const {
  int64_t imageTokens = std::count(prompt.begin(), prompt.end(), imageTokenId);
  if (imageTokens != static_cast<int64_t>(frames.size()) * tokensPerFrame)
    return absl::InvalidArgumentError(absl::StrCat(
        "holds ", imageTokens, " image tokens (id ", imageTokenId, ") but ", frames.size(),
        " image frame", frames.size() == 1 ? "" : "s", " of ", tokensPerFrame,
        " tokens each were given"));
  std::vector<int64_t> expected = {numChannels, imageSize, imageSize};
  for (size_t j = 0; j < frames.size(); ++j) {
    const HostTensor &pixels = frames[j].pixels;
    if (pixels.dtype() != DType::F32 || frameShape(pixels.shape()) != expected)
      return absl::InvalidArgumentError(absl::StrCat(
          "image frame ", j, ": pixel values must be f32 [", numChannels, ", ", imageSize, ", ",
          imageSize, "], got ", dtypeName(pixels.dtype()), " [",
          absl::StrJoin(pixels.shape(), ", "), "]"));
    const HostTensor &mask = frames[j].pixelMask;
    if (mask.byteSize() == 0)
      continue;
    if (!takesPixelMasks())
      return absl::InvalidArgumentError(
          absl::StrCat("image frame ", j, ": this model takes no pixel attention mask"));
    if (mask.dtype() != DType::U8 || mask.shape() != std::vector<int64_t>{imageSize, imageSize})
      return absl::InvalidArgumentError(absl::StrCat(
          "image frame ", j, ": a pixel attention mask must be u8 [", imageSize, ", ", imageSize,
          "], got ", dtypeName(mask.dtype()), " [", absl::StrJoin(mask.shape(), ", "), "]"));
    absl::Status valid = checkPixelMask(mask);
    if (!valid.ok())
      return absl::Status(valid.code(), absl::StrCat("image frame ", j, ": ", valid.message()));
  }
  return absl::OkStatus();
}

int64_t ImageTokenRunHalf::imageRunEnd(absl::Span<const int32_t> tokens, int64_t at) const {
  while (at < static_cast<int64_t>(tokens.size()) && tokens[at] == imageTokenId)
    ++at;
  return at;
}

int64_t ImageTokenRunHalf::chunkEnd(const SequenceView &sequence, int64_t begin,
                                    int64_t wantEnd) const {
  absl::Span<const int32_t> tokens = sequence.tokens.subspan(0, sequence.promptLength);
  const int64_t size = static_cast<int64_t>(tokens.size());
  if (wantEnd >= size || tokens[wantEnd - 1] != imageTokenId || tokens[wantEnd] != imageTokenId)
    return wantEnd; // not inside a run of image tokens
  int64_t into = std::count(tokens.begin(), tokens.begin() + wantEnd, imageTokenId) % tokensPerFrame;
  if (into == 0)
    return wantEnd; // between two frames
  int64_t at = wantEnd, left = into;
  while (left > 0 && at > begin && tokens[at - 1] == imageTokenId)
    --at, --left;
  if (left == 0 && at > begin)
    return at;
  for (at = wantEnd, left = tokensPerFrame - into; left > 0 && at < size && tokens[at] == imageTokenId;
       ++at, --left) {
  }
  return at;
}

absl::StatusOr<HostTensor>
ImageTokenRunHalf::encode(Model &model, absl::Span<const ImageFrame *const> frames) const {
  const int64_t numFrames = static_cast<int64_t>(frames.size());
  const size_t frameBytes = static_cast<size_t>(numChannels * imageSize * imageSize) * 4;
  const size_t rowsBytes = static_cast<size_t>(tokensPerFrame * imageHidden) * 4;
  HostTensor features =
      HostTensor::allocate(DType::F32, {numFrames * tokensPerFrame, imageHidden});
  // Frames whose features the cache keeps are copied; the others are encoded.
  std::vector<int64_t> missing;
  for (int64_t f = 0; f < numFrames; ++f) {
    std::optional<HostTensor> kept;
    if (featureCache && frames[f]->contentHash != 0)
      kept = featureCache->find(frames[f]->contentHash);
    if (kept && kept->byteSize() == rowsBytes)
      std::memcpy(features.data() + f * rowsBytes, kept->data(), rowsBytes);
    else
      missing.push_back(f);
  }
  // A batched program takes every missing frame in one execution; else one per execution.
  const int64_t numMissing = static_cast<int64_t>(missing.size());
  const int64_t perCall = batchedFrames ? std::max<int64_t>(numMissing, 1) : 1;
  std::vector<const ImageFrame *> batch;
  for (int64_t first = 0; first < numMissing; first += perCall) {
    int64_t count = std::min(perCall, numMissing - first);
    HostTensor input = HostTensor::allocate(DType::F32, {count, numChannels, imageSize, imageSize});
    batch.clear();
    for (int64_t i = 0; i < count; ++i) {
      const ImageFrame *frame = frames[missing[first + i]];
      if (frame->pixels.byteSize() != frameBytes)
        return absl::InternalError("an image frame of the wrong size reached the vision program");
      std::memcpy(input.data() + i * frameBytes, frame->pixels.data(), frameBytes);
      batch.push_back(frame);
    }
    std::vector<HostTensor> inputs;
    inputs.push_back(std::move(input));
    for (HostTensor &extra : extraVisionTensors(batch))
      inputs.push_back(std::move(extra));
    MVC_ASSIGN_OR_RETURN(std::vector<HostTensor> out,
                         model.execute(visionProgram, std::move(inputs)));
    if (out[0].shape() != std::vector<int64_t>{count * tokensPerFrame, imageHidden})
      return absl::InternalError(absl::StrCat("program '", visionProgram,
                                              "' returned image_features of shape [",
                                              absl::StrJoin(out[0].shape(), ", "), "] for ",
                                              count, " frames"));
    for (int64_t i = 0; i < count; ++i) {
      const uint8_t *rows = out[0].data() + i * rowsBytes;
      std::memcpy(features.data() + missing[first + i] * rowsBytes, rows, rowsBytes);
      if (featureCache && batch[i]->contentHash != 0) {
        MVC_ASSIGN_OR_RETURN(HostTensor kept,
                             HostTensor::fromBytes(DType::F32, {tokensPerFrame, imageHidden},
                                                   rows, rowsBytes));
        featureCache->insert(batch[i]->contentHash, kept);
      }
    }
  }
  return features;
}

absl::Status ImageTokenRunHalf::setInputs(Model &model, const ForwardBatch &batch,
                                          ForwardInputs &inputs) const {
  int64_t numTokens = static_cast<int64_t>(batch.tokens.size());
  std::vector<int32_t> embedSource(numTokens, -1);
  std::vector<const ImageFrame *> frames; // those this call's image tokens fall in
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
    int64_t before = std::count(all.begin(), all.begin() + member.begin, imageTokenId);
    int64_t inCall = std::count(mine.begin(), mine.end(), imageTokenId);
    int64_t first = before / tokensPerFrame, last = (before + inCall - 1) / tokensPerFrame;
    if (last >= static_cast<int64_t>(member.sequence.images.size()))
      return absl::InvalidArgumentError(absl::StrCat("a sequence's image tokens need image frame ",
                                                     last, " but it has ",
                                                     member.sequence.images.size()));
    // Feature row of the sequence's k-th image token: base + k.
    int32_t base = static_cast<int32_t>(static_cast<int64_t>(frames.size()) * tokensPerFrame -
                                        first * tokensPerFrame);
    for (int64_t frame = first; frame <= last; ++frame)
      frames.push_back(&member.sequence.images[frame]);
    int32_t row = batch.rowOffsets[m];
    int64_t k = before;
    for (int64_t i = member.begin; i < member.begin + static_cast<int64_t>(mine.size());
         ++i, ++row) {
      if (all[i] != imageTokenId)
        continue;
      embedSource[row] = base + static_cast<int32_t>(k++);
      // An image token id outside the text vocabulary is embedded as id 0, as transformers
      // does; its embedding is replaced by image features anyway.
      if (tokens[row] >= vocabSize)
        tokens[row] = 0;
    }
  }
  MVC_ASSIGN_OR_RETURN(inputs["image_features"], encode(model, frames));
  inputs["embed_source"] = i32Tensor(embedSource, {numTokens});
  return absl::OkStatus();
}

absl::StatusOr<uint64_t> ImageTokenRunHalf::imageActivationBytes(const Model &model,
                                                                 int64_t numFrames) const {
  if (numFrames == 0)
    return uint64_t{0};
  int64_t perCall = batchedFrames ? numFrames : 1;
  std::vector<std::vector<int64_t>> shapes = {{perCall, numChannels, imageSize, imageSize}};
  for (const VisionInput &extra : extraVisionInputs())
    shapes.push_back({perCall, extra.perFrame});
  MVC_ASSIGN_OR_RETURN(uint64_t encoder, model.estimateActivationBytes(visionProgram, shapes));
  return encoder + static_cast<uint64_t>(numFrames * tokensPerFrame * imageHidden) * 4;
}

std::map<std::string, std::vector<int64_t>>
ImageTokenRunHalf::extraInputShapes(int64_t tokens, int64_t frames) const {
  return {{"image_features", {frames * tokensPerFrame, imageHidden}}, {"embed_source", {tokens}}};
}

} // namespace mvc
