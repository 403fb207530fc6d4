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
#include "runtime/pipeline/Generator.h"
#include "runtime/pipeline/IncrementalDecoder.h"
#include "runtime/pipeline/TextSession.h"
#include "runtime/util/Npy.h"
#include "runtime/util/StatusMacros.h"
#include "runtime/vision/Decode.h"
#include "runtime/vision/ImageProcessor.h"

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

/// The image processor for --image: the artifact's preprocessor_config.json, else the
/// vision program's size with Gemma 3's defaults (bilinear, rescale 1/255, mean = std = 0.5).
absl::StatusOr<vision::ImageProcessorConfig> imageProcessor(const Options &options,
                                                            const LanguageModelInfo &lm) {
  if (!lm.processorConfigJson.empty())
    return vision::ImageProcessorConfig::parse(std::string(lm.processorConfigJson),
                                               options.artifact + ": preprocessor_config.json");
  vision::ImageProcessorConfig config;
  config.height = config.width = lm.vision->imageSize;
  return config;
}

/// Each prompt's images as pixel values: --image files decoded and preprocessed, or
/// --pixel-values arrays ([C, S, S] is one image, [N, C, S, S] N of them).
absl::StatusOr<std::vector<std::vector<HostTensor>>> loadImages(const Options &options,
                                                                const LanguageModelInfo &lm,
                                                                std::vector<std::vector<int64_t>> &crops) {
  std::vector<std::vector<HostTensor>> images(options.prompts.size());
  crops.assign(options.prompts.size(), {});
  bool any = false;
  for (size_t b = 0; b < options.prompts.size(); ++b) {
    const Prompt &prompt = options.prompts[b];
    if (prompt.images.empty() && prompt.pixelValues.empty())
      continue;
    any = true;
    if (!lm.vision)
      return absl::InvalidArgumentError(
          absl::StrCat(options.artifact, ": this model takes no images (it is a text-only model)"));
    for (const std::string &path : prompt.pixelValues) {
      MVC_ASSIGN_OR_RETURN(NpyArray array, readNpy(path));
      std::vector<int64_t> shape = array.shape;
      if (shape.size() == 3)
        shape.insert(shape.begin(), 1);
      int64_t c = lm.vision->numChannels, size = lm.vision->imageSize;
      if (array.dtype != DType::F32 || shape.size() != 4 || shape[1] != c || shape[2] != size ||
          shape[3] != size)
        return absl::InvalidArgumentError(absl::StrCat(
            path, ": pixel values must be f32 [", c, ", ", size, ", ", size, "] or [N, ", c, ", ",
            size, ", ", size, "], got ", dtypeName(array.dtype), " [",
            absl::StrJoin(array.shape, ", "), "]"));
      size_t bytes = static_cast<size_t>(c * size * size) * sizeof(float);
      for (int64_t i = 0; i < shape[0]; ++i) {
        MVC_ASSIGN_OR_RETURN(HostTensor pixels,
                             HostTensor::fromBytes(DType::F32, {c, size, size},
                                                   array.data.data() + i * bytes, bytes));
        images[b].push_back(std::move(pixels));
      }
    }
    if (!prompt.images.empty()) {
      MVC_ASSIGN_OR_RETURN(vision::ImageProcessorConfig config, imageProcessor(options, lm));
      if (options.panAndScan && !config.panAndScan)
        config.panAndScan = vision::PanAndScan{};
      if (config.height != lm.vision->imageSize || config.width != lm.vision->imageSize)
        return absl::InvalidArgumentError(absl::StrCat(
            options.artifact, ": the preprocessor resizes to ", config.height, "x", config.width,
            " but the vision model takes ", lm.vision->imageSize, "x", lm.vision->imageSize));
      for (const std::string &path : prompt.images) {
        MVC_ASSIGN_OR_RETURN(vision::RgbImage image, vision::loadImage(path));
        // The image, then its pan-and-scan crops: each one image of the vision program.
        vision::ProcessedImage processed = vision::preprocess(image, config);
        size_t floats = static_cast<size_t>(3 * config.height * config.width);
        for (int64_t i = 0; i <= processed.numCrops; ++i) {
          MVC_ASSIGN_OR_RETURN(HostTensor pixels,
                               HostTensor::fromBytes(DType::F32, {3, config.height, config.width},
                                                     processed.pixelValues.data() + i * floats,
                                                     floats * sizeof(float)));
          images[b].push_back(std::move(pixels));
        }
        crops[b].push_back(processed.numCrops);
      }
    }
  }
  if (!any)
    images.clear();
  return images;
}

/// The token ids of every prompt; text prompts through `text` (with their images'
/// placeholders expanded).
absl::StatusOr<std::vector<std::vector<int32_t>>>
encodePrompts(const Options &options, const std::optional<TextSession> &text,
              const LanguageModelInfo &lm, const std::vector<std::vector<HostTensor>> &images,
              const std::vector<std::vector<int64_t>> &crops) {
  std::vector<std::vector<int32_t>> prompts;
  for (size_t b = 0; b < options.prompts.size(); ++b) {
    const Prompt &prompt = options.prompts[b];
    PromptOptions promptOptions{.chat = options.chat, .system = options.system};
    promptOptions.vision = lm.vision ? &*lm.vision : nullptr;
    promptOptions.numCrops = crops.empty() ? std::vector<int64_t>() : crops[b];
    int64_t tensors = images.empty() ? 0 : static_cast<int64_t>(images[b].size());
    for (int64_t c : promptOptions.numCrops)
      tensors -= c; // crops follow their image; the markers count images
    promptOptions.numImages = tensors;
    if (!prompt.text) {
      prompts.push_back(prompt.ids);
      continue;
    }
    if (!text)
      return absl::FailedPreconditionError(
          absl::StrCat(options.artifact, ": this artifact has no tokenizer (compile a checkpoint "
                                         "directory with tokenizer.json); use --prompt-ids"));
    absl::StatusOr<std::vector<int32_t>> ids = text->encodePrompt(*prompt.text, promptOptions);
    if (!ids.ok())
      return absl::Status(ids.status().code(),
                          absl::StrCat(options.chat ? "--chat: " : "",
                                       options.prompts.size() > 1 ? absl::StrCat("prompt ", b, ": ") : "",
                                       ids.status().message()));
    prompts.push_back(std::move(*ids));
  }
  return prompts;
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
  const LanguageModelInfo &lm = *model.languageModel();
  std::vector<std::vector<int64_t>> crops;
  MVC_ASSIGN_OR_RETURN(std::vector<std::vector<HostTensor>> images, loadImages(options, lm, crops));
  MVC_ASSIGN_OR_RETURN(std::vector<std::vector<int32_t>> prompts,
                       encodePrompts(options, text, lm, images, crops));

  GenerationOptions generation;
  generation.maxNewTokens = options.maxNewTokens;
  generation.prefillChunk = options.prefillChunk;
  generation.sampling = options.sampling;
  generation.activationMemoryLimit = options.maxActivationMemory;
  if (!options.logitsOut.empty())
    generation.promptLogits = options.allLogits ? PromptLogits::All : PromptLogits::Last;
  bool streaming = prompts.size() == 1;
  bool streamedAny = false;
  std::optional<IncrementalDecoder> decoder;
  if (streaming && text)
    decoder.emplace(text->tokenizer());
  if (streaming)
    generation.onToken = [&](size_t, int32_t token) {
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
  if (streaming)
    std::cout << (decoder ? decoder->finish() : "") << "\n"; // ends the streamed text or ids
  else if (text)
    for (const std::vector<int32_t> &tokens : result->tokens)
      std::cout << text->decode(tokens) << "\n\n";
  // Without a tokenizer the ids are the output (streamed above for one prompt).
  if (text ? options.printIds : !streaming)
    for (const std::vector<int32_t> &tokens : result->tokens)
      std::cout << absl::StrJoin(tokens, " ") << "\n";
  std::cout.flush();
  printStats(*result);
  if (options.profile)
    model.printProfile(std::cerr);
  if (!options.logitsOut.empty()) {
    const HostTensor &logits = result->promptLogits;
    MVC_RETURN_IF_ERROR(writeNpy(options.logitsOut, logits.dtype(), logits.shape(), logits.data(),
                                 logits.byteSize()));
  }
  return absl::OkStatus();
}

} // namespace mvc::run
