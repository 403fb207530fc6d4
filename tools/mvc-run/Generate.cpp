//===- Generate.cpp - mvc-run's generation mode (--prompt-ids) -------------===//
//
// Token ids go to stdout (streamed for one prompt, one line per prompt at the end for a
// batch), everything else to stderr; --logits-out is written atomically once generation
// has succeeded. The format is documented in --help (Options.cpp).
//
//===----------------------------------------------------------------------===//
#include "tools/mvc-run/Generate.h"

#include <iostream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "runtime/pipeline/Generator.h"
#include "runtime/util/Npy.h"
#include "runtime/util/StatusMacros.h"

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
  std::cerr << absl::StrFormat("prefill: %d tokens in %.4f s (%.1f tokens/s)\n", stats.promptTokens,
                               stats.prefillSeconds, stats.prefillTokensPerSecond());
  std::cerr << absl::StrFormat("decode: %d tokens in %d steps, %.4f s (%.1f tokens/s)\n",
                               stats.decodeTokens, stats.decodeSteps, stats.decodeSeconds,
                               stats.decodeTokensPerSecond());
  std::cerr << absl::StrFormat("time to first token: %.4f s\n", stats.timeToFirstToken);
}

} // namespace

absl::Status generate(const Options &options, Model &model) {
  absl::StatusOr<Generator> created = Generator::create(model);
  if (!created.ok())
    return absl::Status(created.status().code(),
                        absl::StrCat(options.artifact, ": ", created.status().message(),
                                     "; run its programs with --function"));
  Generator &generator = *created;

  GenerationOptions generation;
  generation.maxNewTokens = options.maxNewTokens;
  generation.sampling = options.sampling;
  if (!options.logitsOut.empty())
    generation.promptLogits = options.allLogits ? PromptLogits::All : PromptLogits::Last;
  bool streaming = options.prompts.size() == 1;
  bool streamedAny = false;
  if (streaming)
    generation.onToken = [&](size_t, int32_t token) {
      std::cout << (streamedAny ? " " : "") << token << std::flush;
      streamedAny = true;
    };

  absl::StatusOr<GenerationResult> result = generator.generate(options.prompts, generation);
  if (streamedAny && !result.ok())
    std::cout << "\n"; // end the partial line before the error
  MVC_RETURN_IF_ERROR(result.status());
  if (streaming)
    std::cout << "\n";
  else
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
