//===- Qwen3VLRun.cpp - Qwen3-VL's run half -------------------------------===//
#include "architectures/qwen3vl/Qwen3VLRun.h"

#include "architectures/common/VisualRuns.h"

#include <algorithm>
#include <cstdio>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
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

absl::StatusOr<std::unique_ptr<RunHalf>> Qwen3VLRunHalf::create(const Model &,
                                                                const LanguageModelInfo &info) {
  std::unique_ptr<Qwen3VLRunHalf> half(new Qwen3VLRunHalf());
  nlohmann::json entry = nlohmann::json::parse(info.entryJson, nullptr, false);
  if (!entry.is_object() || !entry.contains("vision") || !entry["vision"].is_object())
    return fieldError("", "missing (a Qwen3-VL artifact describes its vision program)");
  const nlohmann::json &vision = entry["vision"];
  auto integer = [&](const char *key, int64_t least) -> absl::StatusOr<int64_t> {
    if (!vision.contains(key) || !vision[key].is_number_integer() || vision[key].get<int64_t>() < least)
      return fieldError(key, absl::StrCat("expected an integer >= ", least));
    return vision[key].get<int64_t>();
  };
  if (!vision.contains("program") || !vision["program"].is_string())
    return fieldError("program", "expected a program name");
  half->visionProgram = vision["program"].get<std::string>();
  MVC_ASSIGN_OR_RETURN(int64_t image, integer("image_token_id", 0));
  if (image >= info.vocabSize) return fieldError("image_token_id", "outside the vocabulary");
  half->imageTokenId = static_cast<int32_t>(image);
  // Video and vision start/end tokens (artifacts before videos lack the end and videos).
  auto optionalToken = [&](const char *key, int32_t &out) -> absl::Status {
    if (!vision.contains(key)) return absl::OkStatus();
    MVC_ASSIGN_OR_RETURN(int64_t id, integer(key, 0));
    if (id >= info.vocabSize) return fieldError(key, "outside the vocabulary");
    out = static_cast<int32_t>(id);
    return absl::OkStatus();
  };
  MVC_RETURN_IF_ERROR(optionalToken("video_token_id", half->videoTokenId));
  MVC_RETURN_IF_ERROR(optionalToken("vision_start_token_id", half->visionStartTokenId));
  MVC_RETURN_IF_ERROR(optionalToken("vision_end_token_id", half->visionEndTokenId));
  if (!vision.value("takes_videos", false)) half->videoTokenId = -1;
  half->maxPositions = info.maxPositions;
  MVC_ASSIGN_OR_RETURN(half->merge, integer("spatial_merge_size", 1));
  MVC_ASSIGN_OR_RETURN(half->side, integer("position_table_side", 1));
  MVC_ASSIGN_OR_RETURN(half->patchElems, integer("patch_elems", 1));
  MVC_ASSIGN_OR_RETURN(half->deepstack, integer("deepstack", 0));
  MVC_ASSIGN_OR_RETURN(half->hidden, integer("image_hidden", 1));
  if (!info.processorConfigJson.empty()) {
    MVC_ASSIGN_OR_RETURN(half->processor,
                         qwen3vl::ImageProcessorConfig::parse(std::string(info.processorConfigJson),
                                                              "preprocessor_config.json"));
  }
  if (!info.videoProcessorConfigJson.empty()) {
    MVC_ASSIGN_OR_RETURN(half->videoProcessor, qwen3vl::VideoProcessorConfig::parse(
                                                   std::string(info.videoProcessorConfigJson),
                                                   "video_preprocessor_config.json"));
  }
  auto fits = [&](const char *file, int64_t tp, int64_t p, int64_t mergeSize) -> absl::Status {
    if (mergeSize == half->merge && 3 * tp * p * p == half->patchElems) return absl::OkStatus();
    return absl::InvalidArgumentError(absl::StrCat(
        file, ": patches of 3 x ", tp, " x ", p, "^2 merged by ", mergeSize,
        " do not fit the vision program's ", half->patchElems, " values merged by ", half->merge));
  };
  const qwen3vl::ImageProcessorConfig &p = half->processor;
  MVC_RETURN_IF_ERROR(fits("preprocessor_config.json", p.temporalPatchSize, p.patchSize, p.mergeSize));
  const qwen3vl::VideoProcessorConfig &v = half->videoProcessor;
  MVC_RETURN_IF_ERROR(
      fits("video_preprocessor_config.json", v.temporalPatchSize, v.patchSize, v.mergeSize));
  return std::unique_ptr<RunHalf>(std::move(half));
}

std::vector<RunHalf::InputSpec> Qwen3VLRunHalf::extraInputs() const {
  std::vector<InputSpec> out = {{"mrope_positions", DType::I32, 2},
                                {"image_features", DType::F32, 2},
                                {"embed_source", DType::I32, 1}};
  for (int64_t j = 0; j < deepstack; ++j)
    out.push_back({"deepstack." + std::to_string(j), DType::F32, 2});
  return out;
}

std::string Qwen3VLRunHalf::imageMarker(const text::Tokenizer &tokenizer) const {
  return tokenizer.idToToken(imageTokenId).value_or("");
}

std::string Qwen3VLRunHalf::videoMarker(const text::Tokenizer &tokenizer) const {
  return videoTokenId < 0 ? "" : tokenizer.idToToken(videoTokenId).value_or("");
}

absl::StatusOr<PreparedImage> Qwen3VLRunHalf::prepareVideo(vision::VideoSource &video) const {
  if (videoTokenId < 0)
    return absl::FailedPreconditionError(
        "this artifact was compiled without videos (recompile it with this mvc-compile)");
  // Every video token must fit the context: refused from the header, before decoding.
  MVC_ASSIGN_OR_RETURN(qwen3vl::VideoPatches v,
                       qwen3vl::preprocessVideo(video, videoProcessor, maxPositions * merge * merge));
  const qwen3vl::GridThw &g = v.grid;
  PreparedImage prepared;
  prepared.video = true;
  prepared.layout = {g.t, g.h, g.w};
  const size_t perPatch = static_cast<size_t>(g.h * g.w * v.rowElems);
  for (int64_t k = 0; k < g.t; ++k) {
    MVC_ASSIGN_OR_RETURN(
        HostTensor pixels,
        HostTensor::fromBytes(DType::F32, {1, g.h, g.w, v.rowElems},
                              reinterpret_cast<const uint8_t *>(v.values.data() + k * perPatch),
                              perPatch * sizeof(float)));
    prepared.frames.push_back({std::move(pixels), HostTensor()});
    // Python's f"<{t:.1f} seconds>": the double correctly rounded, ties to even, as printf.
    char text[64];
    std::snprintf(text, sizeof(text), "<%.1f seconds>", v.timestamps[k]);
    prepared.text.push_back(text);
  }
  return prepared;
}

qwen3vl::GridThw Qwen3VLRunHalf::gridOf(const ImageFrame &frame) const {
  const std::vector<int64_t> &s = frame.pixels.shape();
  return s.size() == 4 ? qwen3vl::GridThw{s[0], s[1], s[2]} : qwen3vl::GridThw{0, 0, 0};
}

int64_t Qwen3VLRunHalf::tokensOf(const ImageFrame &frame) const {
  return qwen3vl::imageTokenCount(gridOf(frame), merge);
}

absl::StatusOr<PreparedImage> Qwen3VLRunHalf::prepareImage(const vision::RgbImage &image,
                                                           ImageSplitting) const {
  MVC_ASSIGN_OR_RETURN(qwen3vl::ImagePatches patches, qwen3vl::preprocessImage(image, processor));
  const qwen3vl::GridThw &g = patches.grid;
  MVC_ASSIGN_OR_RETURN(
      HostTensor pixels,
      HostTensor::fromBytes(DType::F32, {g.t, g.h, g.w, patches.rowElems},
                            reinterpret_cast<const uint8_t *>(patches.values.data()),
                            patches.values.size() * sizeof(float)));
  PreparedImage prepared;
  prepared.frames.push_back({std::move(pixels), HostTensor()});
  prepared.layout = {g.t, g.h, g.w};
  return prepared;
}

absl::StatusOr<PreparedImage> Qwen3VLRunHalf::imageFromPixels(const HostTensor &pixels,
                                                              const HostTensor *) const {
  // Patches alone do not say their grid: the shape [h, w, C·tp·p·p] (an image) or
  // [t, h, w, C·tp·p·p] does; the rows are the processor's, in merge-block order.
  std::vector<int64_t> s = pixels.shape();
  if (s.size() == 3) s.insert(s.begin(), 1);
  if (pixels.dtype() != DType::F32 || s.size() != 4 || s[3] != patchElems || s[0] < 1 ||
      s[1] % merge || s[2] % merge || s[1] < merge || s[2] < merge)
    return absl::InvalidArgumentError(absl::StrCat(
        "Qwen3-VL pixel values must be f32 [h, w, ", patchElems, "] or [t, h, w, ", patchElems,
        "] (the processor's patches in merge-block order; h and w multiples of ", merge,
        "), got ", dtypeName(pixels.dtype()), " [", absl::StrJoin(pixels.shape(), ", "), "]"));
  MVC_ASSIGN_OR_RETURN(HostTensor frame,
                       HostTensor::fromBytes(DType::F32, s, pixels.data(), pixels.byteSize()));
  PreparedImage prepared;
  prepared.frames.push_back({std::move(frame), HostTensor()});
  prepared.layout = {s[0], s[1], s[2]};
  return prepared;
}

absl::StatusOr<std::string> Qwen3VLRunHalf::expandImages(absl::string_view text,
                                                         absl::Span<const PreparedImage> images,
                                                         const text::Tokenizer &tokenizer) const {
  std::string marker = imageMarker(tokenizer);
  if (marker.empty())
    return absl::FailedPreconditionError(
        absl::StrCat("the tokenizer has no token ", imageTokenId, " (the model's image token)"));
  // Videos: each "<|video_pad|>" becomes, per temporal patch, its timestamp and its tokens
  // between a vision start and end, as Qwen3VLProcessor.replace_video_token writes them.
  // The chat template's own start and end around the marker stay (transformers 5.23
  // replaces the marker alone, so the prompt holds "<|vision_start|><0.2 seconds>
  // <|vision_start|>...<|vision_end|><|vision_end|>").
  const std::string videoPad = videoMarker(tokenizer);
  auto tokenText = [&](int32_t id) {
    return id < 0 ? std::string() : tokenizer.idToToken(id).value_or("");
  };
  const std::string start = tokenText(visionStartTokenId), end = tokenText(visionEndTokenId);
  size_t numImages = 0, numVideos = 0;
  for (const PreparedImage &item : images) (item.video ? numVideos : numImages) += 1;
  std::string out;
  size_t at = 0, k = 0, imagesSeen = 0, videosSeen = 0;
  while (true) {
    size_t image = text.find(marker, at);
    size_t video = videoPad.empty() ? absl::string_view::npos : text.find(videoPad, at);
    if (image == absl::string_view::npos && video == absl::string_view::npos) break;
    const bool isVideo = video < image;
    const size_t found = isVideo ? video : image;
    (isVideo ? videosSeen : imagesSeen) += 1;
    if (k == images.size() || images[k].video != isVideo) {
      if (k == images.size() || (isVideo ? videosSeen > numVideos : imagesSeen > numImages))
        return absl::InvalidArgumentError(absl::StrCat(
            "the prompt holds more ", isVideo ? videoPad : marker, " markers than the ",
            isVideo ? numVideos : numImages, isVideo ? " videos" : " images"));
      return absl::InvalidArgumentError(absl::StrCat(
          "the prompt's ", isVideo ? "video" : "image", " marker ", isVideo ? videosSeen : imagesSeen,
          " comes where ", images[k].video ? "a video" : "an image",
          " was given (give images and videos in the order the prompt names them)"));
    }
    const PreparedImage &item = images[k++];
    const std::vector<int64_t> &l = item.layout;
    if (!isVideo) {
      out.append(text.data() + at, found - at);
      for (int64_t i = 0; i < qwen3vl::imageTokenCount({l[0], l[1], l[2]}, merge); ++i) out += marker;
      at = found + marker.size();
      continue;
    }
    out.append(text.data() + at, found - at);
    const int64_t perPatch = qwen3vl::imageTokenCount({1, l[1], l[2]}, merge);
    for (int64_t t = 0; t < l[0]; ++t) {
      out += t < static_cast<int64_t>(item.text.size()) ? item.text[t] : std::string();
      out += start;
      for (int64_t i = 0; i < perPatch; ++i) out += videoPad;
      out += end;
    }
    at = found + videoPad.size();
  }
  if (k != images.size())
    return absl::InvalidArgumentError(absl::StrCat(
        "the prompt holds ", imagesSeen, " ", marker, " markers for ", numImages, " images",
        videoPad.empty() ? "" : absl::StrCat(" and ", videosSeen, " ", videoPad, " markers for ",
                                             numVideos, " videos")));
  out.append(text.data() + at, text.size() - at);
  return out;
}

absl::Status Qwen3VLRunHalf::checkPrompt(absl::Span<const int32_t> prompt,
                                         absl::Span<const ImageFrame> images) const {
  for (size_t j = 0; j < images.size(); ++j) {
    const std::vector<int64_t> &s = images[j].pixels.shape();
    qwen3vl::GridThw g = gridOf(images[j]);
    if (images[j].pixels.dtype() != DType::F32 || s.size() != 4 || s[3] != patchElems ||
        g.t < 1 || g.h < merge || g.w < merge || g.h % merge || g.w % merge)
      return absl::InvalidArgumentError(absl::StrCat(
          "image ", j, ": pixel values must be f32 [t, h, w, ", patchElems, "], got ",
          dtypeName(images[j].pixels.dtype()), " [", absl::StrJoin(s, ", "), "]"));
    if (images[j].pixelMask.byteSize() != 0)
      return absl::InvalidArgumentError(absl::StrCat("image ", j, ": Qwen3-VL takes no pixel mask"));
  }
  // Image tokens belong to the images in order, each taking exactly its count.
  size_t k = 0;
  int64_t inImage = 0;
  for (size_t i = 0; i < prompt.size(); ++i) {
    if (!visual(prompt[i])) {
      if (inImage > 0)
        return absl::InvalidArgumentError(absl::StrCat(
            "image ", k, " needs ", tokensOf(images[k]), " ",
            prompt[i - 1] == videoTokenId ? "video" : "image", " tokens (id ", prompt[i - 1],
            ") in a row, but its run ends after ", inImage, " at token ", i));
      continue;
    }
    if (k == images.size())
      return absl::InvalidArgumentError(absl::StrCat("holds more image tokens (id ", imageTokenId,
                                                     ") than the ", images.size(),
                                                     " images given take"));
    if (inImage > 0 && prompt[i] != prompt[i - 1])
      return absl::InvalidArgumentError(absl::StrCat(
          "image ", k, ": its run of ", tokensOf(images[k]), " tokens mixes image and video "
          "tokens at token ", i));
    if (++inImage == tokensOf(images[k])) ++k, inImage = 0;
  }
  if (inImage > 0 || k != images.size())
    return absl::InvalidArgumentError(absl::StrCat(
        "holds image tokens for ", k, " of the ", images.size(), " images given"));
  return absl::OkStatus();
}

int64_t Qwen3VLRunHalf::placeholderFrame(int64_t k, absl::Span<const ImageFrame> images) const {
  return frameOfVisualToken(k, images, [this](const ImageFrame &f) { return tokensOf(f); });
}

int64_t Qwen3VLRunHalf::chunkEnd(const SequenceView &sequence, int64_t begin,
                                 int64_t wantEnd) const {
  return visualRunChunkEnd(
      sequence, begin, wantEnd, [this](int32_t id) { return visual(id); },
      [this](const ImageFrame &f) { return tokensOf(f); });
}

absl::Status Qwen3VLRunHalf::setInputs(Model &model, const ForwardBatch &batch,
                                       ForwardInputs &inputs) const {
  const int64_t numTokens = static_cast<int64_t>(batch.tokens.size());
  std::vector<int32_t> mrope(numTokens * 3), embedSource(numTokens, -1);
  std::vector<const ImageFrame *> frames;
  std::vector<qwen3vl::GridThw> grids;
  int64_t rows = 0; // image_features rows so far
  for (size_t m = 0; m < batch.members.size(); ++m) {
    const ForwardBatch::Member &member = batch.members[m];
    const SequenceView &seq = member.sequence;
    absl::Span<const int32_t> prompt = seq.tokens.subspan(0, seq.promptLength);
    const int64_t end = member.begin + member.count;
    // get_rope_index over the whole prompt when it holds images; else positions as given.
    std::optional<qwen3vl::RopeIndex> index;
    if (!seq.images.empty()) {
      std::vector<qwen3vl::TokenKind> kinds(prompt.size(), qwen3vl::TokenKind::kText);
      for (size_t i = 0; i < prompt.size(); ++i)
        // A video's temporal patch is positioned exactly as an image of its grid.
        if (visual(prompt[i])) kinds[i] = qwen3vl::TokenKind::kImage;
      std::vector<qwen3vl::GridThw> seqGrids;
      for (const ImageFrame &f : seq.images) seqGrids.push_back(gridOf(f));
      MVC_ASSIGN_OR_RETURN(index, qwen3vl::ropeIndex(kinds, seqGrids, {}, merge));
    }
    int64_t k = 0, into = 0;
    for (int64_t i = 0; i < end; ++i) {
      const int64_t row = batch.rowOffsets[m] + (i - member.begin);
      const bool image = i < seq.promptLength && visual(prompt[i]) && !seq.images.empty();
      if (i >= member.begin) {
        for (int a = 0; a < 3; ++a) {
          int64_t p = !index ? batch.positions[row]
                      : i < seq.promptLength ? index->positions[a][i]
                                             : i + index->delta;
          mrope[row * 3 + a] = static_cast<int32_t>(p);
        }
      }
      if (!image) continue;
      // The k-th image's token `into`; its features enter when its first token is in the
      // call (chunkEnd keeps an image's tokens in one call).
      if (into == 0 && i >= member.begin) {
        if (k >= static_cast<int64_t>(seq.images.size()))
          return absl::InvalidArgumentError("a sequence's image tokens outnumber its images");
        frames.push_back(&seq.images[k]);
        grids.push_back(gridOf(seq.images[k]));
        rows += tokensOf(seq.images[k]);
      }
      if (i >= member.begin)
        embedSource[row] = static_cast<int32_t>(rows - tokensOf(seq.images[k]) + into);
      if (++into == tokensOf(seq.images[k])) ++k, into = 0;
    }
  }
  inputs["mrope_positions"] = i32Tensor(mrope, {numTokens, 3});
  inputs["embed_source"] = i32Tensor(embedSource, {numTokens});
  if (frames.empty()) {
    inputs["image_features"] = HostTensor::allocate(DType::F32, {0, hidden});
    for (int64_t j = 0; j < deepstack; ++j)
      inputs["deepstack." + std::to_string(j)] = HostTensor::allocate(DType::F32, {0, hidden});
    return absl::OkStatus();
  }
  // One execution over every image of the call, attention within each.
  int64_t patches = 0;
  for (const qwen3vl::GridThw &g : grids) patches += g.t * g.h * g.w;
  HostTensor pixels = HostTensor::allocate(DType::F32, {patches, patchElems});
  size_t offset = 0;
  for (const ImageFrame *f : frames) {
    std::memcpy(pixels.data() + offset, f->pixels.data(), f->pixels.byteSize());
    offset += f->pixels.byteSize();
  }
  qwen3vl::VisionInputs v = qwen3vl::visionInputs(grids, side, merge);
  std::vector<HostTensor> in;
  in.push_back(std::move(pixels));
  in.push_back(i32Tensor(v.posIds, {patches, 4}));
  MVC_ASSIGN_OR_RETURN(
      HostTensor weights,
      HostTensor::fromBytes(DType::F32, {patches, 4},
                            reinterpret_cast<const uint8_t *>(v.posWeights.data()),
                            v.posWeights.size() * sizeof(float)));
  in.push_back(std::move(weights));
  in.push_back(i32Tensor(v.ropePositions, {patches, 2}));
  in.push_back(i32Tensor(v.segments, {int64_t(v.segments.size())}));
  MVC_ASSIGN_OR_RETURN(std::vector<HostTensor> out, model.execute(visionProgram, std::move(in)));
  if (out.size() != static_cast<size_t>(1 + deepstack) ||
      out[0].shape() != std::vector<int64_t>{rows, hidden})
    return absl::InternalError(absl::StrCat("program '", visionProgram, "' returned ", out.size(),
                                            " outputs, the first [", absl::StrJoin(out[0].shape(), ", "),
                                            "], for ", rows, " image tokens"));
  inputs["image_features"] = std::move(out[0]);
  for (int64_t j = 0; j < deepstack; ++j)
    inputs["deepstack." + std::to_string(j)] = std::move(out[1 + j]);
  return absl::OkStatus();
}

absl::StatusOr<uint64_t> Qwen3VLRunHalf::imageActivationBytes(const Model &model,
                                                              int64_t numImages) const {
  if (numImages == 0) return uint64_t{0};
  // The largest image the processor makes: its pixel budget in patches.
  const int64_t p = processor.patchSize;
  const int64_t patches = numImages * std::max<int64_t>(processor.maxPixels / (p * p), merge * merge);
  MVC_ASSIGN_OR_RETURN(uint64_t encoder,
                       model.estimateActivationBytes(visionProgram, {{patches, patchElems},
                                                                     {patches, 4},
                                                                     {patches, 4},
                                                                     {patches, 2},
                                                                     {numImages + 1}}));
  return encoder + static_cast<uint64_t>(patches / (merge * merge) * hidden * (1 + deepstack)) * 4;
}

std::map<std::string, std::vector<int64_t>> Qwen3VLRunHalf::extraInputShapes(int64_t tokens,
                                                                              int64_t) const {
  // A call's image rows are at most its tokens.
  std::map<std::string, std::vector<int64_t>> shapes = {{"mrope_positions", {tokens, 3}},
                                                        {"image_features", {tokens, hidden}},
                                                        {"embed_source", {tokens}}};
  for (int64_t j = 0; j < deepstack; ++j) shapes["deepstack." + std::to_string(j)] = {tokens, hidden};
  return shapes;
}

} // namespace mvc
