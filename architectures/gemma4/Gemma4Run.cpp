//===- Gemma4Run.cpp - Gemma 4's run half ---------------------------------===//
#include "architectures/gemma4/Gemma4Run.h"

#include <algorithm>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "architectures/common/VisualRuns.h"
#include "nlohmann/json.hpp"
#include "runtime/text/Tokenizer.h"
#include "runtime/util/StatusMacros.h"

namespace mvc {
namespace {

absl::Status fieldError(absl::string_view field, absl::string_view message) {
  return absl::InvalidArgumentError(
      absl::StrCat("manifest: language_model.vision.", field, ": ", message));
}

} // namespace

absl::StatusOr<std::unique_ptr<RunHalf>> Gemma4RunHalf::create(const Model &,
                                                               const LanguageModelInfo &info) {
  std::unique_ptr<Gemma4RunHalf> half(new Gemma4RunHalf());
  nlohmann::json entry = nlohmann::json::parse(info.entryJson, nullptr, false);
  if (!entry.is_object() || !entry.contains("vision")) return std::unique_ptr<RunHalf>(std::move(half));
  const nlohmann::json &vision = entry["vision"];
  if (!vision.is_object()) return fieldError("", "expected an object");
  auto integer = [&](const char *key, int64_t least) -> absl::StatusOr<int64_t> {
    if (!vision.contains(key) || !vision[key].is_number_integer() || vision[key].get<int64_t>() < least)
      return fieldError(key, absl::StrCat("expected an integer >= ", least));
    return vision[key].get<int64_t>();
  };
  auto token = [&](const char *key, int32_t &out) -> absl::Status {
    MVC_ASSIGN_OR_RETURN(int64_t id, integer(key, 0));
    if (id >= info.vocabSize) return fieldError(key, "outside the vocabulary");
    out = static_cast<int32_t>(id);
    return absl::OkStatus();
  };
  if (!vision.contains("program") || !vision["program"].is_string())
    return fieldError("program", "expected a program name");
  half->vision = true;
  half->visionProgram = vision["program"].get<std::string>();
  MVC_RETURN_IF_ERROR(token("image_token_id", half->imageTokenId));
  MVC_RETURN_IF_ERROR(token("boi_token_id", half->boiTokenId));
  MVC_RETURN_IF_ERROR(token("eoi_token_id", half->eoiTokenId));
  MVC_ASSIGN_OR_RETURN(half->positionTable, integer("position_table", 1));
  MVC_ASSIGN_OR_RETURN(half->hidden, integer("image_hidden", 1));
  MVC_ASSIGN_OR_RETURN(int64_t patch, integer("patch_size", 1));
  MVC_ASSIGN_OR_RETURN(int64_t k, integer("pooling_kernel_size", 2));
  if (!vision.contains("image_groups") || !vision["image_groups"].is_boolean())
    return fieldError("image_groups", "expected true or false");
  half->groups = vision["image_groups"].get<bool>();
  if (!info.padTokenId)
    return absl::InvalidArgumentError("manifest: language_model.pad_token_id: needed with images");
  half->padTokenId = *info.padTokenId;
  // Without a processor config in the artifact: the processors' class defaults, cutting
  // the tower's patches.
  half->processor = gemma4::ImageProcessorConfig::defaults();
  half->processor.patchSize = patch;
  half->processor.poolingKernelSize = k;
  if (!info.processorConfigJson.empty()) {
    MVC_ASSIGN_OR_RETURN(half->processor,
                         gemma4::ImageProcessorConfig::parse(std::string(info.processorConfigJson),
                                                             "preprocessor_config.json"));
  }
  half->videoProcessor = gemma4::VideoProcessorConfig::defaults();
  half->videoProcessor.frames.patchSize = patch;
  half->videoProcessor.frames.poolingKernelSize = k;
  if (!info.videoProcessorConfigJson.empty()) {
    MVC_ASSIGN_OR_RETURN(half->videoProcessor, gemma4::VideoProcessorConfig::parse(
                                                   std::string(info.videoProcessorConfigJson),
                                                   "video_preprocessor_config.json"));
  }
  MVC_RETURN_IF_ERROR(gemma4::checkFitsTower(half->processor, patch, k, "preprocessor_config.json"));
  MVC_RETURN_IF_ERROR(
      gemma4::checkFitsTower(half->videoProcessor.frames, patch, k, "video_preprocessor_config.json"));
  if (vision.value("takes_videos", false)) MVC_RETURN_IF_ERROR(token("video_token_id", half->videoTokenId));
  if (vision.contains("audio_token_id")) MVC_RETURN_IF_ERROR(token("audio_token_id", half->audioTokenId));
  return std::unique_ptr<RunHalf>(std::move(half));
}

std::vector<RunHalf::InputSpec> Gemma4RunHalf::extraInputs() const {
  if (!vision) return {};
  std::vector<InputSpec> out = {{"image_features", DType::F32, 2}, {"embed_source", DType::I32, 1}};
  if (groups) out.push_back({"group_spans", DType::I32, 2});
  return out;
}

std::string Gemma4RunHalf::imageMarker(const text::Tokenizer &tokenizer) const {
  return vision ? tokenizer.idToToken(imageTokenId).value_or("") : "";
}

std::string Gemma4RunHalf::videoMarker(const text::Tokenizer &tokenizer) const {
  return takesVideos() ? tokenizer.idToToken(videoTokenId).value_or("") : "";
}

absl::StatusOr<PreparedImage> Gemma4RunHalf::prepareVideo(vision::VideoSource &video) const {
  if (!takesVideos())
    return absl::FailedPreconditionError("this artifact takes no videos (recompile it with this mvc-compile)");
  MVC_ASSIGN_OR_RETURN(gemma4::VideoPatches v, gemma4::preprocessVideo(video, videoProcessor));
  const int64_t elems = 3 * processor.patchSize * processor.patchSize;
  PreparedImage prepared;
  prepared.video = true;
  prepared.layout = {v.rows, v.cols};
  prepared.text = v.timestamps;
  for (const std::vector<float> &frame : v.frames) {
    MVC_ASSIGN_OR_RETURN(HostTensor pixels,
                         HostTensor::fromBytes(DType::F32, {v.rows, v.cols, elems},
                                               reinterpret_cast<const uint8_t *>(frame.data()),
                                               frame.size() * sizeof(float)));
    prepared.frames.push_back({std::move(pixels), HostTensor()});
  }
  return prepared;
}

gemma4::Grid Gemma4RunHalf::gridOf(const ImageFrame &frame) const {
  const std::vector<int64_t> &s = frame.pixels.shape();
  return s.size() == 3 ? gemma4::Grid{s[0], s[1]} : gemma4::Grid{};
}

int64_t Gemma4RunHalf::tokensOf(const ImageFrame &frame) const {
  gemma4::Grid g = gridOf(frame);
  return gemma4::softTokenCount(g.rows, g.cols, processor.poolingKernelSize);
}

absl::StatusOr<PreparedImage> Gemma4RunHalf::prepareImage(const vision::RgbImage &image,
                                                          ImageSplitting) const {
  MVC_ASSIGN_OR_RETURN(gemma4::ImagePatches patches, gemma4::preprocessImage(image, processor));
  const int64_t elems = 3 * processor.patchSize * processor.patchSize;
  MVC_ASSIGN_OR_RETURN(HostTensor pixels,
                       HostTensor::fromBytes(DType::F32, {patches.rows, patches.cols, elems},
                                             reinterpret_cast<const uint8_t *>(patches.values.data()),
                                             patches.values.size() * sizeof(float)));
  PreparedImage prepared;
  prepared.frames.push_back({std::move(pixels), HostTensor()});
  prepared.layout = {patches.rows, patches.cols};
  return prepared;
}

absl::StatusOr<PreparedImage> Gemma4RunHalf::imageFromPixels(const HostTensor &pixels,
                                                             const HostTensor *) const {
  const int64_t k = processor.poolingKernelSize, elems = 3 * processor.patchSize * processor.patchSize;
  const std::vector<int64_t> &s = pixels.shape();
  if (pixels.dtype() != DType::F32 || s.size() != 3 || s[2] != elems || s[0] < k || s[1] < k ||
      s[0] % k || s[1] % k)
    return absl::InvalidArgumentError(absl::StrCat(
        "Gemma 4 pixel values must be f32 [rows, cols, ", elems,
        "] (the processor's real patches, row-major; rows and cols multiples of ", k, "), got ",
        dtypeName(pixels.dtype()), " [", absl::StrJoin(s, ", "), "]"));
  if (s[0] * s[1] > processor.maxPatches())
    return absl::InvalidArgumentError(absl::StrCat("Gemma 4 pixel values of ", s[0], "x", s[1],
                                                   " patches exceed the processor's budget of ",
                                                   processor.maxPatches()));
  MVC_ASSIGN_OR_RETURN(HostTensor frame, HostTensor::fromBytes(DType::F32, s, pixels.data(), pixels.byteSize()));
  PreparedImage prepared;
  prepared.frames.push_back({std::move(frame), HostTensor()});
  prepared.layout = {s[0], s[1]};
  return prepared;
}

absl::StatusOr<std::string> Gemma4RunHalf::expandImages(absl::string_view text,
                                                        absl::Span<const PreparedImage> images,
                                                        const text::Tokenizer &tokenizer) const {
  const std::string marker = imageMarker(tokenizer);
  auto tokenText = [&](int32_t id) { return tokenizer.idToToken(id).value_or(""); };
  const std::string boi = tokenText(boiTokenId), eoi = tokenText(eoiTokenId);
  if (marker.empty() || boi.empty() || eoi.empty())
    return absl::FailedPreconditionError(absl::StrCat(
        "the tokenizer lacks the image tokens ", boiTokenId, ", ", imageTokenId, ", ", eoiTokenId));
  // Gemma4Processor.replace_image_token: each image marker becomes its image's soft tokens
  // between the begin and end of image; replace_video_token: each video marker, per
  // sampled frame "mm:ss " and the frame's soft tokens so, the frames joined by spaces.
  // Items go to markers in order, each kind to its own marker.
  const std::string video = videoMarker(tokenizer);
  std::string out;
  size_t at = 0, k = 0;
  while (true) {
    size_t image = text.find(marker, at);
    size_t found = video.empty() ? absl::string_view::npos : text.find(video, at);
    const bool isVideo = found < image;
    if (!isVideo) found = image;
    if (found == absl::string_view::npos) break;
    const std::string &which = isVideo ? video : marker;
    if (k == images.size())
      return absl::InvalidArgumentError(absl::StrCat("the prompt holds more ", which, " markers than the ",
                                                     images.size(), " images and videos given"));
    const PreparedImage &item = images[k++];
    if (item.video != isVideo)
      return absl::InvalidArgumentError(absl::StrCat(
          "the prompt's marker ", k, " is ", which, " where ", item.video ? "a video" : "an image",
          " was given (give images and videos in the order the prompt names them)"));
    const std::vector<int64_t> &l = item.layout;
    const int64_t n = gemma4::softTokenCount(l[0], l[1], processor.poolingKernelSize);
    out.append(text.data() + at, found - at);
    const size_t frames = item.video ? item.frames.size() : 1;
    for (size_t f = 0; f < frames; ++f) {
      if (item.video) absl::StrAppend(&out, f ? " " : "", f < item.text.size() ? item.text[f] : "", " ");
      out += boi;
      for (int64_t i = 0; i < n; ++i) out += which;
      out += eoi;
    }
    at = found + which.size();
  }
  if (k != images.size())
    return absl::InvalidArgumentError(absl::StrCat("the prompt holds ", k, " image and video markers for ",
                                                   images.size(), " images and videos"));
  out.append(text.data() + at, text.size() - at);
  return out;
}

absl::Status Gemma4RunHalf::checkPrompt(absl::Span<const int32_t> prompt,
                                        absl::Span<const ImageFrame> images) const {
  const int64_t k = processor.poolingKernelSize, elems = 3 * processor.patchSize * processor.patchSize;
  for (size_t j = 0; j < images.size(); ++j) {
    const std::vector<int64_t> &s = images[j].pixels.shape();
    if (images[j].pixels.dtype() != DType::F32 || s.size() != 3 || s[2] != elems || s[0] < k ||
        s[1] < k || s[0] % k || s[1] % k)
      return absl::InvalidArgumentError(absl::StrCat(
          "image ", j, ": pixel values must be f32 [rows, cols, ", elems, "], got ",
          dtypeName(images[j].pixels.dtype()), " [", absl::StrJoin(s, ", "), "]"));
    if (images[j].pixelMask.byteSize() != 0)
      return absl::InvalidArgumentError(absl::StrCat("image ", j, ": Gemma 4 takes no pixel mask"));
  }
  // Image tokens belong to the images in order, each taking exactly its count.
  size_t j = 0;
  int64_t inImage = 0;
  for (size_t i = 0; i < prompt.size(); ++i) {
    if (!isPlaceholderToken(prompt[i])) {
      if (inImage > 0)
        return absl::InvalidArgumentError(absl::StrCat(
            "image ", j, " needs ", tokensOf(images[j]), " image tokens (id ", prompt[i - 1],
            ") in a row, but its run ends after ", inImage, " at token ", i));
      continue;
    }
    if (j == images.size())
      return absl::InvalidArgumentError(absl::StrCat("holds more image tokens (id ", prompt[i],
                                                     ") than the ", images.size(),
                                                     " images given take"));
    if (inImage > 0 && prompt[i] != prompt[i - 1])
      return absl::InvalidArgumentError(
          absl::StrCat("image ", j, ": its run mixes image and video tokens at token ", i));
    if (++inImage == tokensOf(images[j])) ++j, inImage = 0;
  }
  if (inImage > 0 || j != images.size())
    return absl::InvalidArgumentError(
        absl::StrCat("holds image tokens for ", j, " of the ", images.size(), " images given"));
  return absl::OkStatus();
}

int64_t Gemma4RunHalf::placeholderFrame(int64_t k, absl::Span<const ImageFrame> images) const {
  return frameOfVisualToken(k, images, [this](const ImageFrame &f) { return tokensOf(f); });
}

int64_t Gemma4RunHalf::chunkEnd(const SequenceView &sequence, int64_t begin, int64_t wantEnd) const {
  if (!vision) return wantEnd;
  return visualRunChunkEnd(
      sequence, begin, wantEnd, [this](int32_t id) { return isPlaceholderToken(id); },
      [this](const ImageFrame &f) { return tokensOf(f); });
}

absl::Status Gemma4RunHalf::setInputs(Model &model, const ForwardBatch &batch,
                                      ForwardInputs &inputs) const {
  if (!vision) return absl::OkStatus();
  const int64_t numTokens = static_cast<int64_t>(batch.tokens.size());
  std::vector<int32_t> embedSource(numTokens, -1), spans(2 * numTokens, 0);
  std::vector<int32_t> tokens(batch.tokens);
  std::vector<const ImageFrame *> frames;
  std::vector<gemma4::Grid> grids;
  int64_t rows = 0;  // image_features rows so far
  for (size_t m = 0; m < batch.members.size(); ++m) {
    const ForwardBatch::Member &member = batch.members[m];
    const SequenceView &seq = member.sequence;
    absl::Span<const int32_t> prompt = seq.tokens.subspan(0, seq.promptLength);
    const int64_t end = std::min<int64_t>(member.begin + member.count, seq.promptLength);
    if (member.begin >= end) continue;  // generated tokens only (a decode step): no image rows
    int64_t j = 0, into = 0;
    for (int64_t i = 0; i < end; ++i) {
      if (!isPlaceholderToken(prompt[i]) || seq.images.empty()) continue;
      if (j >= static_cast<int64_t>(seq.images.size()))
        return absl::InvalidArgumentError("a sequence's image tokens outnumber its images");
      const int64_t n = tokensOf(seq.images[j]);
      // The image's features enter with its first token (chunkEnd keeps a run in one call).
      if (into == 0 && i >= member.begin) {
        frames.push_back(&seq.images[j]);
        grids.push_back(gridOf(seq.images[j]));
        rows += n;
      }
      if (i >= member.begin) {
        const int64_t row = batch.rowOffsets[m] + (i - member.begin);
        embedSource[row] = static_cast<int32_t>(rows - n + into);
        tokens[row] = padTokenId;
        spans[2 * row] = static_cast<int32_t>(i - into);
        spans[2 * row + 1] = static_cast<int32_t>(i - into + n);
      }
      if (++into == n) ++j, into = 0;
    }
  }
  // Placeholders the model generated (or a prompt's audio tokens) are pad too.
  for (int32_t &t : tokens)
    if (t == imageTokenId || (videoTokenId >= 0 && t == videoTokenId) || (audioTokenId >= 0 && t == audioTokenId))
      t = padTokenId;
  inputs["tokens"] = i32Tensor(tokens, {numTokens});
  inputs["embed_source"] = i32Tensor(embedSource, {numTokens});
  if (groups) inputs["group_spans"] = i32Tensor(spans, {numTokens, 2});
  if (frames.empty()) {
    inputs["image_features"] = HostTensor::allocate(DType::F32, {0, hidden});
    return absl::OkStatus();
  }
  // One execution over every image of the call, attention within each.
  int64_t patches = 0;
  for (const gemma4::Grid &g : grids) patches += g.rows * g.cols;
  const int64_t elems = 3 * processor.patchSize * processor.patchSize;
  HostTensor pixels = HostTensor::allocate(DType::F32, {patches, elems});
  size_t offset = 0;
  for (const ImageFrame *f : frames) {
    std::memcpy(pixels.data() + offset, f->pixels.data(), f->pixels.byteSize());
    offset += f->pixels.byteSize();
  }
  const int64_t k = processor.poolingKernelSize;
  MVC_ASSIGN_OR_RETURN(gemma4::VisionInputs v, gemma4::visionInputs(grids, positionTable, k));
  auto f32Tensor = [](const std::vector<float> &values, std::vector<int64_t> shape) {
    return HostTensor::fromBytes(DType::F32, std::move(shape), reinterpret_cast<const uint8_t *>(values.data()),
                                 values.size() * sizeof(float));
  };
  std::vector<HostTensor> in;
  in.push_back(std::move(pixels));
  in.push_back(i32Tensor(v.posIds, {patches, 2}));
  MVC_ASSIGN_OR_RETURN(HostTensor posWeights, f32Tensor(v.posWeights, {patches, 2}));
  in.push_back(std::move(posWeights));
  in.push_back(i32Tensor(v.ropePositions, {patches, 2}));
  in.push_back(i32Tensor(v.segments, {static_cast<int64_t>(v.segments.size())}));
  in.push_back(i32Tensor(v.poolIds, {rows, k * k}));
  MVC_ASSIGN_OR_RETURN(HostTensor poolWeights, f32Tensor(v.poolWeights, {rows, k * k}));
  in.push_back(std::move(poolWeights));
  MVC_ASSIGN_OR_RETURN(std::vector<HostTensor> out, model.execute(visionProgram, std::move(in)));
  if (out.size() != 1 || out[0].shape() != std::vector<int64_t>{rows, hidden})
    return absl::InternalError(absl::StrCat("program '", visionProgram, "' returned ", out.size(),
                                            " outputs for ", rows, " image tokens"));
  inputs["image_features"] = std::move(out[0]);
  return absl::OkStatus();
}

absl::StatusOr<uint64_t> Gemma4RunHalf::imageActivationBytes(const Model &model,
                                                             int64_t numImages) const {
  if (numImages == 0 || !vision) return uint64_t{0};
  // The largest image the processor makes: its whole patch budget.
  const int64_t k = processor.poolingKernelSize, patches = numImages * processor.maxPatches();
  const int64_t soft = patches / (k * k), elems = 3 * processor.patchSize * processor.patchSize;
  MVC_ASSIGN_OR_RETURN(uint64_t encoder,
                       model.estimateActivationBytes(visionProgram, {{patches, elems},
                                                                     {patches, 2},
                                                                     {patches, 2},
                                                                     {patches, 2},
                                                                     {numImages + 1},
                                                                     {soft, k * k},
                                                                     {soft, k * k}}));
  return encoder + static_cast<uint64_t>(soft * hidden) * 4;
}

std::map<std::string, std::vector<int64_t>> Gemma4RunHalf::extraInputShapes(int64_t tokens,
                                                                             int64_t) const {
  if (!vision) return {};
  std::map<std::string, std::vector<int64_t>> shapes = {{"image_features", {tokens, hidden}},
                                                        {"embed_source", {tokens}}};
  if (groups) shapes["group_spans"] = {tokens, 2};
  return shapes;
}

} // namespace mvc
