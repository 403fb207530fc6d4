//===- Options.h - mvc-run's command line ----------------------------------===//
//
// Two modes on one loaded model: program invocations (--function/--input, .npy in and out)
// and generation (-p/--prompt, --prompt-ids, for language-model artifacts). --help
// documents both.
//
//===----------------------------------------------------------------------===//
#ifndef MVC_TOOLS_MVC_RUN_OPTIONS_H
#define MVC_TOOLS_MVC_RUN_OPTIONS_H

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "runtime/pipeline/RunHalf.h"
#include "runtime/pipeline/Sampler.h"

namespace mvc::run {

struct Invocation {
  std::string function;
  std::vector<std::string> inputs;
};

/// One prompt of the batch as given: text (-p/--prompt, encoded with the artifact's
/// tokenizer), token ids (--prompt-ids) or a conversation (--messages FILE.json).
struct Prompt {
  std::optional<std::string> text;
  std::vector<int32_t> ids; // for --prompt-ids
  std::optional<std::string> messagesFile;
  // Its images, in order: files to decode and preprocess (--image) or preprocessed pixel
  // values (--pixel-values .npy, [C, S, S] or [N, C, S, S]); one kind per prompt.
  std::vector<std::string> images;
  std::vector<std::string> pixelValues;
  // For each pixelValues file, its frames' pixel attention masks (--pixel-attention-mask
  // .npy, [S, S] or [N, S, S]; "" for none).
  std::vector<std::string> pixelMasks;
  // Its videos, in order, after its images: files or frame directories (--video).
  std::vector<std::string> videos;
};

struct Options {
  std::string artifact;
  // Program invocations.
  std::vector<Invocation> invocations;
  std::vector<std::string> looseInputs; // --input before any --function
  std::string outputDir;
  // Generation.
  std::vector<Prompt> prompts; // in the order given
  bool chat = false;           // text prompts through the chat template
  std::string system;          // with chat: a system message (none if empty)
  std::string toolsFile;       // --tools: tool definitions for the chat template
  bool enableThinking = false; // --enable-thinking: the template's enable_thinking = true
  bool showReasoning = true;   // --reasoning show|hide
  int64_t maxNewTokens = 32;
  int64_t prefillChunk = 512;  // prompt tokens per prefill call (0: one call)
  SamplingOptions sampling;
  bool printIds = false;
  std::string logitsOut;
  std::string dumpOutputsDir;  // --dump-outputs: each forward call's extra outputs
  bool allLogits = false;
  uint64_t maxActivationMemory = 0; // bytes; 0 = the generator's default
  ImageSplitting imageSplitting = ImageSplitting::kDefault; // --image: crops / tiles
  std::optional<double> videoFps;                           // --video-fps: frame directories
  // Both.
  std::string device = "cpu";
  int threads = 0;
  std::vector<std::pair<std::string, int64_t>> loadSymbols;
  bool dumpSchedule = false;
  bool profile = false;
  bool verify = false;
  bool poisonStates = false;
  bool help = false;

  bool generating() const { return !prompts.empty(); }
};

/// Parses argv; errors are one line naming the flag.
absl::StatusOr<Options> parseArgs(int argc, char **argv);
void printHelp();

} // namespace mvc::run

#endif // MVC_TOOLS_MVC_RUN_OPTIONS_H
