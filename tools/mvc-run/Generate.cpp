//===- Generate.cpp - mvc-run's generation mode (-p/--prompt, --prompt-ids) ----===//
//
// Text prompts are encoded with the artifact's tokenizer (TextSession). The generated text
// goes to stdout (streamed for one prompt, at the end for a batch), then the ids with
// --print-ids; an artifact without a tokenizer prints the ids instead. Everything else goes
// to stderr; --logits-out is written atomically once generation has succeeded. The format
// is documented in --help (Options.cpp).
//
//===----------------------------------------------------------------------===//
#include "tools/mvc-run/Generate.h"

#include <iostream>
#include <optional>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "runtime/pipeline/Conversation.h"
#include "runtime/pipeline/ConversationImages.h"
#include "runtime/pipeline/Generator.h"
#include "runtime/pipeline/IncrementalDecoder.h"
#include "runtime/pipeline/ReplyStream.h"
#include "runtime/pipeline/TextSession.h"
#include "runtime/util/MappedFile.h"
#include "runtime/util/Npy.h"
#include "runtime/util/StatusMacros.h"
#include "runtime/vision/Decode.h"
#include "runtime/vision/ImageProcessor.h"
#include "runtime/vision/Video.h"

namespace mvc::run {

namespace {

void printStats(const GenerationResult &result) {
  for (size_t b = 0; b < result.tokens.size(); ++b) {
    bool eos = result.finishReasons[b] == FinishReason::Eos;
    std::cerr << absl::StrFormat(
        "prompt %d: %d new tokens, stopped at %s\n", b, result.tokens[b].size(),
        eos ? absl::StrCat("EOS id ", result.tokens[b].back()) : "--max-new-tokens");
  }
  const GenerationStats &stats = result.stats;
  std::cerr << absl::StrFormat("prefill: %d tokens in %d call%s, %.4f s (%.1f tokens/s)\n",
                               stats.promptTokens, stats.prefillCalls,
                               stats.prefillCalls == 1 ? "" : "s", stats.prefillSeconds,
                               stats.prefillTokensPerSecond());
  std::cerr << absl::StrFormat("decode: %d tokens in %d steps, %.4f s (%.1f tokens/s)\n",
                               stats.decodeTokens, stats.decodeSteps, stats.decodeSeconds,
                               stats.decodeTokensPerSecond());
  std::cerr << absl::StrFormat("time to first token: %.4f s\n", stats.timeToFirstToken);
}

/// The artifact's tokenizer, if it has one.
absl::StatusOr<std::optional<TextSession>> loadText(const Options &options, Model &model) {
  const LanguageModelInfo &languageModel = *model.languageModel();
  if (languageModel.tokenizerJson.empty())
    return std::nullopt;
  absl::StatusOr<TextSession> text = TextSession::create(languageModel);
  if (!text.ok())
    return absl::Status(text.status().code(),
                        absl::StrCat(options.artifact, ": ", text.status().message()));
  return std::move(*text);
}

/// Prints one reply of a model with a reply format (Gemma 4) as mvc-run --help describes:
/// content as it comes, reasoning between [reasoning] and [/reasoning] lines (or not at
/// all), each tool call one JSON line.
class ReplyPrinter {
public:
  ReplyPrinter(const text::Tokenizer &tokenizer, ResponseFormat format, bool showReasoning)
      : stream(tokenizer, std::move(format)), showReasoning(showReasoning) {}
  void push(int32_t id) { print(stream.push(id)); }
  /// The reply is over: flushes it and ends its last line.
  void finish() {
    print(stream.finish());
    closeReasoning();
    if (!atLineStart) write("\n");
  }

private:
  void write(absl::string_view text) {
    if (text.empty()) return;
    std::cout << text << std::flush;
    atLineStart = text.back() == '\n';
  }
  void closeReasoning() {
    if (!inReasoning) return;
    write(atLineStart ? "[/reasoning]\n" : "\n[/reasoning]\n");
    inReasoning = false;
  }
  void print(const std::vector<ResponseEvent> &events) {
    for (const ResponseEvent &e : events) {
      switch (e.kind) {
      case ResponseEvent::Kind::kReasoning:
        if (!showReasoning) break;
        if (!inReasoning) write(atLineStart ? "[reasoning]\n" : "\n[reasoning]\n");
        inReasoning = true;
        write(e.text);
        break;
      case ResponseEvent::Kind::kContent:
        closeReasoning();
        write(e.text);
        break;
      case ResponseEvent::Kind::kToolCall:
        closeReasoning();
        if (!atLineStart) write("\n");
        write(absl::StrCat("{\"tool_call\": ", toolCallJson(e.call), "}\n"));
        break;
      }
    }
  }

  ReplyStream stream;
  bool showReasoning;
  bool inReasoning = false, atLineStart = true;
};

/// A conversation file, read whole: a regular file (no FIFO or device) of at most 256 MiB
/// (inline images included).
absl::StatusOr<std::string> readConversationFile(const std::string &path) {
  constexpr size_t kMaxBytes = size_t{256} << 20;
  MVC_ASSIGN_OR_RETURN(std::unique_ptr<MappedFile> file, MappedFile::open(path));
  if (file->size() > kMaxBytes)
    return absl::InvalidArgumentError(
        absl::StrCat(path, ": ", file->size(), " bytes, more than a conversation may hold (",
                     kMaxBytes, ")"));
  return std::string(reinterpret_cast<const char *>(file->data()), file->size());
}

/// One prompt's images, prepared by the run half: --image files decoded and put through
/// the model's image processor, --pixel-values arrays ([C, S, S] one image, [N, C, S, S] N),
/// or a conversation's image parts.
absl::StatusOr<std::vector<PreparedImage>> loadImages(const Options &options, const Prompt &prompt,
                                                      const Conversation *conversation,
                                                      const RunHalf &half) {
  std::vector<PreparedImage> images;
  bool any = !prompt.images.empty() || !prompt.pixelValues.empty() ||
             (conversation && !conversation->media.empty());
  if (!prompt.videos.empty() && !half.takesVideos())
    return absl::InvalidArgumentError(
        absl::StrCat(options.artifact, ": this model takes no videos"));
  if (any && !half.takesImages())
    return absl::InvalidArgumentError(
        absl::StrCat(options.artifact, ": this model takes no images (it is a text-only model)"));
  for (size_t f = 0; f < prompt.pixelValues.size(); ++f) {
    const std::string &path = prompt.pixelValues[f];
    MVC_ASSIGN_OR_RETURN(NpyArray array, readNpy(path));
    std::vector<int64_t> shape = array.shape;
    int64_t count = shape.size() == 4 ? shape[0] : 1;
    if (shape.size() == 4)
      shape.erase(shape.begin());
    size_t bytes = count > 0 ? array.data.size() / static_cast<size_t>(count) : 0;
    // The frames' masks: [S, S] with one frame, [N, S, S] with N.
    const std::string &maskPath = prompt.pixelMasks[f];
    std::optional<NpyArray> masks;
    std::vector<int64_t> maskShape;
    size_t maskBytes = 0;
    if (!maskPath.empty()) {
      MVC_ASSIGN_OR_RETURN(masks, readNpy(maskPath));
      maskShape = masks->shape;
      bool perFrame = array.shape.size() == 4;
      if (maskShape.size() != (perFrame ? 3u : 2u) || (perFrame && maskShape[0] != count))
        return absl::InvalidArgumentError(absl::StrCat(
            maskPath, ": a pixel attention mask of shape [", absl::StrJoin(maskShape, ", "),
            "] for the pixel values [", absl::StrJoin(array.shape, ", "), "] of ", path,
            " (expected [S, S] for one frame, [N, S, S] for N)"));
      if (perFrame)
        maskShape.erase(maskShape.begin());
      maskBytes = count > 0 ? masks->data.size() / static_cast<size_t>(count) : 0;
    }
    for (int64_t i = 0; i < count || (count == 0 && i == 0); ++i) {
      absl::StatusOr<HostTensor> pixels =
          HostTensor::fromBytes(array.dtype, shape, array.data.data() + i * bytes, bytes);
      std::optional<HostTensor> mask;
      if (masks) {
        MVC_ASSIGN_OR_RETURN(mask, HostTensor::fromBytes(masks->dtype, maskShape,
                                                         masks->data.data() + i * maskBytes,
                                                         maskBytes));
      }
      absl::StatusOr<PreparedImage> image =
          pixels.ok() ? half.imageFromPixels(*pixels, mask ? &*mask : nullptr)
                      : absl::StatusOr<PreparedImage>(pixels.status());
      if (!image.ok())
        return absl::Status(image.status().code(),
                            absl::StrCat(path, masks ? absl::StrCat(" with ", maskPath) : "",
                                         ": frame ", i, ": ", image.status().message(),
                                         " (a file holds one frame, or N on a leading axis)"));
      images.push_back(std::move(*image));
    }
  }
  for (const std::string &path : prompt.images) {
    MVC_ASSIGN_OR_RETURN(vision::RgbImage image, vision::loadImage(path));
    absl::StatusOr<PreparedImage> prepared = half.prepareImage(image, options.imageSplitting);
    if (!prepared.ok())
      return absl::Status(prepared.status().code(),
                          absl::StrCat(options.artifact, ": ", prepared.status().message()));
    images.push_back(std::move(*prepared));
  }
  vision::VideoOptions videoOptions{.directoryFps = options.videoFps};
  for (const std::string &path : prompt.videos) {
    MVC_ASSIGN_OR_RETURN(std::unique_ptr<vision::VideoSource> video,
                         vision::openVideo(path, videoOptions));
    absl::StatusOr<PreparedImage> prepared = half.prepareVideo(*video);
    if (!prepared.ok())
      return absl::Status(prepared.status().code(),
                          absl::StrCat(options.artifact, ": ", prepared.status().message()));
    images.push_back(std::move(*prepared));
  }
  if (conversation) {
    absl::StatusOr<std::vector<PreparedImage>> parts =
        prepareConversationImages(*conversation, half, options.imageSplitting, videoOptions);
    if (!parts.ok())
      return absl::Status(parts.status().code(),
                          absl::StrCat(*prompt.messagesFile, ": ", parts.status().message()));
    for (PreparedImage &image : *parts)
      images.push_back(std::move(image));
  }
  return images;
}

/// `items` (images, then videos, as given) in the order `text` names them: transformers
/// matches the i-th image marker to the i-th image and the j-th video marker to the j-th
/// video, while the vision frames go in prompt order. Items no marker names keep their
/// order at the end (the expansion then reports the count).
std::vector<PreparedImage> inMarkerOrder(absl::string_view text, std::vector<PreparedImage> items,
                                         const RunHalf &half, const text::Tokenizer &tokenizer) {
  const std::string image = half.imageMarker(tokenizer), video = half.videoMarker(tokenizer);
  std::vector<size_t> images, videos, order;
  for (size_t i = 0; i < items.size(); ++i) (items[i].video ? videos : images).push_back(i);
  size_t nextImage = 0, nextVideo = 0;
  for (size_t at = 0;;) {
    size_t i = image.empty() ? absl::string_view::npos : text.find(image, at);
    size_t v = video.empty() ? absl::string_view::npos : text.find(video, at);
    if (i == absl::string_view::npos && v == absl::string_view::npos) break;
    if (v < i) {
      if (nextVideo < videos.size()) order.push_back(videos[nextVideo++]);
      at = v + video.size();
    } else {
      if (nextImage < images.size()) order.push_back(images[nextImage++]);
      at = i + image.size();
    }
  }
  std::vector<bool> used(items.size(), false);
  for (size_t k : order) used[k] = true;
  for (size_t k = 0; k < items.size(); ++k)
    if (!used[k]) order.push_back(k);
  std::vector<PreparedImage> out;
  for (size_t k : order) out.push_back(std::move(items[k]));
  return out;
}

/// Every prompt's token ids and its images as the vision program takes them.
absl::Status encodePrompts(const Options &options, const std::optional<TextSession> &text,
                           const RunHalf &half, std::vector<std::vector<int32_t>> &prompts,
                           std::vector<std::vector<ImageFrame>> &pixels) {
  bool anyImages = false;
  nlohmann::ordered_json tools;
  if (!options.toolsFile.empty()) {
    if (!options.chat)
      return absl::InvalidArgumentError("--tools needs --chat (the chat template renders the tools)");
    MVC_ASSIGN_OR_RETURN(std::string json, readConversationFile(options.toolsFile));
    tools = nlohmann::ordered_json::parse(json, nullptr, /*allow_exceptions=*/false);
    if (tools.is_discarded())
      return absl::InvalidArgumentError(absl::StrCat("--tools ", options.toolsFile, ": not valid JSON"));
    MVC_RETURN_IF_ERROR(validateTools(tools, absl::StrCat("--tools ", options.toolsFile)));
  }
  for (size_t b = 0; b < options.prompts.size(); ++b) {
    const Prompt &prompt = options.prompts[b];
    std::string which = options.prompts.size() > 1 ? absl::StrCat("prompt ", b, ": ") : "";
    std::optional<Conversation> conversation;
    if (prompt.messagesFile) {
      MVC_ASSIGN_OR_RETURN(std::string json, readConversationFile(*prompt.messagesFile));
      MVC_ASSIGN_OR_RETURN(conversation, parseConversation(json, *prompt.messagesFile));
      if (options.enableThinking) conversation->templateKwargs["enable_thinking"] = true;
    }
    MVC_ASSIGN_OR_RETURN(std::vector<PreparedImage> images,
                         loadImages(options, prompt, conversation ? &*conversation : nullptr, half));
    if (prompt.text && text && !prompt.videos.empty())
      images = inMarkerOrder(*prompt.text, std::move(images), half, text->tokenizer());
    pixels.emplace_back();
    for (PreparedImage &image : images)  // the expansion below reads layouts and texts only
      for (ImageFrame &frame : image.frames)
        pixels.back().push_back(std::move(frame));
    anyImages |= !pixels.back().empty();
    if (!prompt.text && !conversation) {
      prompts.push_back(prompt.ids);
      continue;
    }
    if (!text)
      return absl::FailedPreconditionError(
          absl::StrCat(options.artifact, ": this artifact has no tokenizer (compile a checkpoint "
                                         "directory with tokenizer.json); use --prompt-ids"));
    absl::StatusOr<std::vector<int32_t>> ids;
    if (conversation) {
      ids = text->encodeConversation(*conversation, images, &half);
      if (!ids.ok())
        return absl::Status(ids.status().code(), absl::StrCat(which, *prompt.messagesFile, ": ",
                                                              ids.status().message()));
    } else {
      PromptOptions promptOptions{.chat = options.chat, .system = options.system};
      promptOptions.images = images;
      promptOptions.runHalf = &half;
      promptOptions.tools = tools;
      if (options.enableThinking) promptOptions.templateKwargs["enable_thinking"] = true;
      ids = text->encodePrompt(*prompt.text, promptOptions);
      if (!ids.ok())
        return absl::Status(ids.status().code(), absl::StrCat(options.chat ? "--chat: " : "",
                                                              which, ids.status().message()));
    }
    prompts.push_back(std::move(*ids));
  }
  if (!anyImages)
    pixels.clear();
  return absl::OkStatus();
}

} // namespace

absl::Status generate(const Options &options, Model &model) {
  absl::StatusOr<Generator> created = Generator::create(model);
  if (!created.ok())
    return absl::Status(created.status().code(),
                        absl::StrCat(options.artifact, ": ", created.status().message(),
                                     "; run its programs with --function"));
  Generator &generator = *created;
  MVC_ASSIGN_OR_RETURN(std::optional<TextSession> text, loadText(options, model));
  std::vector<std::vector<int32_t>> prompts;
  std::vector<std::vector<ImageFrame>> images;
  MVC_RETURN_IF_ERROR(encodePrompts(options, text, generator.runHalf(), prompts, images));

  GenerationOptions generation;
  generation.maxNewTokens = options.maxNewTokens;
  generation.prefillChunk = options.prefillChunk;
  generation.sampling = options.sampling;
  generation.activationMemoryLimit = options.maxActivationMemory;
  if (!options.logitsOut.empty())
    generation.promptLogits = options.allLogits ? PromptLogits::All : PromptLogits::Last;
  absl::Status dumpStatus;
  int64_t calls = 0;
  if (!options.dumpOutputsDir.empty())
    generation.onExtraOutputs = [&](const ForwardBatch &batch,
                                    absl::Span<const std::pair<std::string, HostTensor>> outputs) {
      const std::string base = absl::StrCat(options.dumpOutputsDir, "/call", calls++, ".");
      auto write = [&](const std::string &name, DType dtype, std::vector<int64_t> shape,
                       const void *data, size_t bytes) {
        if (absl::Status s = writeNpy(base + name + ".npy", dtype, shape, data, bytes);
            !s.ok() && dumpStatus.ok())
          dumpStatus = s;
      };
      write("tokens", DType::I32, {int64_t(batch.tokens.size())}, batch.tokens.data(),
            batch.tokens.size() * sizeof(int32_t));
      write("row_offsets", DType::I32, {int64_t(batch.rowOffsets.size())}, batch.rowOffsets.data(),
            batch.rowOffsets.size() * sizeof(int32_t));
      for (const auto &[name, tensor] : outputs)
        write(name, tensor.dtype(), tensor.shape(), tensor.data(), tensor.byteSize());
    };
  bool streaming = prompts.size() == 1;
  bool streamedAny = false;
  std::optional<IncrementalDecoder> decoder;
  // A reply format (Gemma 4's reasoning and tool calls) applies to chat prompts.
  std::optional<ResponseFormat> format;
  const std::string &formatName = model.languageModel()->responseFormat;
  if (text && !formatName.empty()) {
    MVC_ASSIGN_OR_RETURN(format, responseFormatByName(formatName));
  }
  auto formatted = [&](size_t b) {
    return format && (options.prompts[b].messagesFile || (options.prompts[b].text && options.chat));
  };
  std::optional<ReplyPrinter> reply;
  if (streaming && formatted(0))
    reply.emplace(text->tokenizer(), *format, options.showReasoning);
  else if (streaming && text)
    decoder.emplace(text->tokenizer());
  if (streaming)
    generation.onToken = [&](size_t, int32_t token) {
      if (reply) {
        reply->push(token);
        streamedAny = true;
        return;
      }
      if (decoder) {
        std::string piece = decoder->push(token);
        std::cout << piece << std::flush;
        streamedAny |= !piece.empty();
        return;
      }
      std::cout << (streamedAny ? " " : "") << token << std::flush;
      streamedAny = true;
    };

  absl::StatusOr<GenerationResult> result = generator.generate(prompts, generation, images);
  if (streamedAny && !result.ok())
    std::cout << "\n"; // end the partial line before the error
  MVC_RETURN_IF_ERROR(result.status());
  if (reply)
    reply->finish();
  else if (streaming)
    std::cout << (decoder ? decoder->finish() : "") << "\n"; // ends the streamed text or ids
  else if (text)
    for (size_t b = 0; b < result->tokens.size(); ++b) {
      if (!formatted(b)) {
        std::cout << text->decode(result->tokens[b]) << "\n\n";
        continue;
      }
      ReplyPrinter printer(text->tokenizer(), *format, options.showReasoning);
      for (int32_t token : result->tokens[b]) printer.push(token);
      printer.finish();
      std::cout << "\n";
    }
  // Without a tokenizer the ids are the output (streamed above for one prompt).
  if (text ? options.printIds : !streaming)
    for (const std::vector<int32_t> &tokens : result->tokens)
      std::cout << absl::StrJoin(tokens, " ") << "\n";
  std::cout.flush();
  printStats(*result);
  if (options.profile)
    model.printProfile(std::cerr);
  MVC_RETURN_IF_ERROR(dumpStatus);
  if (!options.logitsOut.empty()) {
    const HostTensor &logits = result->promptLogits;
    MVC_RETURN_IF_ERROR(writeNpy(options.logitsOut, logits.dtype(), logits.shape(), logits.data(),
                                 logits.byteSize()));
  }
  return absl::OkStatus();
}

} // namespace mvc::run
