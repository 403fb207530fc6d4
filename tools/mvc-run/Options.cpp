//===- Options.cpp - mvc-run's flags and --help ---------------------------===//
#include "tools/mvc-run/Options.h"
#include "runtime/util/AtomicFile.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <iostream>
#include <type_traits>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "runtime/hal/cpu/ThreadPool.h"
#include "runtime/util/ByteSize.h"
#include "runtime/util/StatusMacros.h"

namespace mvc::run {

void printHelp() {
  std::cout
      << "usage: mvc-run ARTIFACT -p TEXT [--chat] [options]\n"
         "       mvc-run ARTIFACT --messages FILE.json [options]\n"
         "       mvc-run ARTIFACT --prompt-ids IDS [--prompt-ids IDS]... [options]\n"
         "       mvc-run ARTIFACT [--function NAME [--input FILE.npy]...]... [options]\n"
         "\n"
         "Generation (language-model artifacts): each -p/--prompt, --prompt-ids or --messages\n"
         "is one prompt; several run as one batch (calls of up to --prefill-chunk tokens, each\n"
         "decoding the prompts that are done and prefilling the next, each prompt leaving\n"
         "the batch when it stops). Greedy\n"
         "unless --temperature > 0. A prompt stops at one of the artifact's EOS ids (included\n"
         "in its output) or --max-new-tokens. Text prompts need the tokenizer compiled into\n"
         "the artifact (from the checkpoint's tokenizer.json) and are encoded as transformers\n"
         "does: plain, as tokenizer(text) (the tokenizer's BOS added); with --chat, rendered\n"
         "by the chat template as one user message and the generation prompt, then encoded\n"
         "without adding special tokens again (apply_chat_template(tokenize=True)).\n"
         "  stdout: the generated text, special tokens left out, the prompt not repeated:\n"
         "          with one prompt, streamed as it is generated, then a newline; with\n"
         "          several, once the batch is done, each prompt's text, then a newline and\n"
         "          an empty line. With --print-ids, then one line per prompt of its new\n"
         "          token ids, space-separated, in order: the last line of stdout (the last N\n"
         "          lines for N prompts) is the generated ids. An artifact without a\n"
         "          tokenizer prints those id lines instead of text (streamed for one\n"
         "          prompt), with or without --print-ids.\n"
         "  stderr: one line per prompt saying why it stopped, then prefill tokens/s, decode\n"
         "          tokens/s and time to first token.\n"
         "\n"
         "generation options:\n"
         "  -p TEXT, --prompt TEXT a text prompt (repeatable: a batch, mixed with --prompt-ids\n"
         "                         in the order given)\n"
         "  --chat                 wrap each text prompt in the chat template of the artifact's\n"
         "                         tokenizer_config.json (default: off)\n"
         "  --system TEXT          with --chat: a system message before each prompt\n"
         "                         (default: none)\n"
         "  --tools FILE.json      with --chat: tool definitions (an OpenAI tools array of\n"
         "                         {\"type\": \"function\", \"function\": {\"name\",\n"
         "                         \"description\", \"parameters\": JSON schema}}) for the chat\n"
         "                         template\n"
         "  --enable-thinking      with --chat or --messages: the chat template's\n"
         "                         enable_thinking = true (Gemma 4: the model may reason first)\n"
         "  --reasoning show|hide  a model whose artifact names a reply format (Gemma 4), with\n"
         "                         --chat or --messages: its reasoning is printed between\n"
         "                         [reasoning] and [/reasoning] lines before the content (show,\n"
         "                         the default) or left out (hide); each tool call it makes is\n"
         "                         one JSON line {\"tool_call\": {\"type\": \"function\",\n"
         "                         \"function\": {\"name\", \"arguments\"}}} after the content\n"
         "  --prompt-ids IDS       comma-separated token ids of one prompt, e.g. 2,10,11\n"
         "                         (repeatable: a batch)\n"
         "  --messages FILE.json   a conversation, OpenAI style: a messages array (or\n"
         "                         {\"messages\": [...], \"tools\": [...]}) of {\"role\", \"content\"}\n"
         "                         with content a string or parts {\"type\": \"text\", \"text\"},\n"
         "                         {\"type\": \"image\", \"image\": PATH}, {\"type\": \"image_url\",\n"
         "                         \"image_url\": {\"url\": \"data:image/png;base64,...\" or PATH}},\n"
         "                         {\"type\": \"video\", \"video\": PATH}; rendered with the chat\n"
         "                         template and the generation prompt, images where the template\n"
         "                         puts them (repeatable: a batch). -p --chat [--system] is a\n"
         "                         one-turn conversation\n"
         "  --max-new-tokens N     new tokens per prompt at most (default: 32)\n"
         "  --prefill-chunk N      tokens per call at most (default: 512; 0: the whole batch in\n"
         "                         one call); a call may exceed it to hold a whole image span\n"
         "  --temperature T        0 = greedy (argmax, lowest id on ties); > 0 samples\n"
         "                         (default: 0)\n"
         "  --top-k K              keep the K most likely tokens (default: 0 = off)\n"
         "  --top-p P              keep the most likely tokens up to mass P (default: 1 = off)\n"
         "  --min-p P              drop tokens less likely than P times the most likely one\n"
         "                         (default: 0 = off)\n"
         "  --seed S               prompt i of the batch samples from random stream (S, i)\n"
         "                         (default: 0)\n"
         "                         Sampling applies temperature, top-k, top-p, min-p in that\n"
         "                         order, as transformers' generate; its do_sample defaults\n"
         "                         are --temperature 1 --top-k 50.\n"
         "  --image FILE           an image (JPEG or PNG) of the prompt before it (repeatable, in\n"
         "                         order): each <start_of_image> in the prompt text (or, with\n"
         "                         --chat, the image the template places) takes the next image\n"
         "  --video FILE|DIR       a video of the prompt before it (repeatable, after its images):\n"
         "                         a file (MP4/MOV, WebM/Matroska, AVI; H.264, HEVC, VP8, VP9,\n"
         "                         AV1, MPEG-4, MJPEG) or a directory of JPEG/PNG frames in\n"
         "                         name order; each <|video_pad|> in the prompt text (or, with\n"
         "                         --chat, the video the template places) takes the next one;\n"
         "                         with --prompt-ids the ids hold its tokens (Qwen3-VL)\n"
         "  --video-fps N          the frame rate of --video directories (default: 24, as\n"
         "                         transformers assumes for frames without metadata)\n"
         "  --image-splitting on|off  --image: cut images into more frames of the vision\n"
         "                         program (Gemma 3 pan-and-scan crops, Idefics3/SmolVLM tiles)\n"
         "                         or not; default: as preprocessor_config.json says\n"
         "  --pan-and-scan         the same as --image-splitting on\n"
         "  --pixel-values FILE    preprocessed pixels (.npy f32 [C,S,S] or [N,C,S,S]: N frames of\n"
         "                         the vision program) of the prompt before it; with\n"
         "                         --prompt-ids the ids hold the image tokens, frames in order\n"
         "                         (Gemma 3: boi, tokens_per_image x image, eoi per frame;\n"
         "                         Idefics3: HF's pixel_values[b], whose all-zero padding\n"
         "                         frames are dropped as HF drops them);\n"
         "                         with a text prompt each frame is one unsplit image\n"
         "  --pixel-attention-mask FILE  the pixel attention mask of the --pixel-values before\n"
         "                         it (.npy u8/i32/i64 [S,S] or [N,S,S], 1 on image pixels):\n"
         "                         frames whose image is smaller than S x S, padded at the\n"
         "                         bottom and right (Idefics3/SmolVLM)\n"
         "  --max-activation-memory SIZE  refuse a batch whose prefill would plan more\n"
         "                         activation memory than SIZE bytes (suffix K, M, G; default\n"
         "                         3/4 of physical memory)\n"
         "  --print-ids            end stdout with the generated ids, after the text\n"
         "                         (default: off)\n"
         "  --dump-outputs DIR     after each forward call, write its outputs other than the\n"
         "                         logits (an artifact compiled with --expose-routing: each\n"
         "                         MoE layer's moe.<layer>.slots and .groups) as\n"
         "                         DIR/call<K>.<name>.npy, with the call's tokens\n"
         "                         (call<K>.tokens.npy) and row offsets (call<K>.row_offsets.npy)\n"
         "  --logits-out FILE.npy  write the prompt logits, float32 (default: none): one row\n"
         "                         per prompt, its last position ([prompts, vocab]); with\n"
         "                         --all-logits every position of every prompt, prompts in\n"
         "                         order ([total prompt tokens, vocab]). With one prompt:\n"
         "                         [1, vocab] or [positions, vocab]. Works with\n"
         "                         --max-new-tokens 0 (prefill only).\n"
         "  --all-logits           every position in --logits-out (default: off)\n"
         "\n"
         "Program invocations: each --function starts an invocation; the --input flags after\n"
         "it are its inputs, in order. Invocations run in order on one loaded model, so\n"
         "states (KV caches) persist between them. Without --function, an artifact with a\n"
         "single program runs it on the inputs. Output files (with --output-dir DIR), one\n"
         "per program output:\n"
         "  DIR/FUNCTION.OUTPUT.npy      if FUNCTION is invoked once\n"
         "  DIR/FUNCTION.K.OUTPUT.npy    for its K-th invocation (K from 0) if invoked\n"
         "                               more than once\n"
         "Files are written only when every invocation succeeded. bf16 tensors are\n"
         "stored and read as '<u2' (their bit patterns).\n"
         "\n"
         "invocation options:\n"
         "  --function NAME        program to invoke (repeatable)\n"
         "  --input FILE.npy       input of the current invocation (repeatable)\n"
         "  --output-dir DIR       write outputs there (default: none; outputs are only\n"
         "                         listed on stdout); created if missing\n"
         "\n"
         "common options:\n"
         "  --device DEVICE        cpu, cuda:N (a GPU, through libcuda.so.1) or cuda-emu (the\n"
         "                         cuda kernels on the host emulator) (default: cpu)\n"
         "  --threads N            threads of execution (default: 0 = all "
      << ThreadPool::hardwareThreads()
      << " hardware threads)\n"
         "  --load-symbol NAME=N   override a load-time size, e.g. num_pages=256 KV pages\n"
         "                         (repeatable; default: the artifact's values)\n"
         "  --dump-schedule        print every program's schedule to stdout (default: off)\n"
         "  --profile              per-step time table on stderr at exit (default: off)\n"
         "  --verify               verify the weights checksum before running\n"
         "                         (default: off; manifest and kernels are always checked)\n"
         "  --poison-states        KV caches start as NaN bytes instead of zeros, so a kernel\n"
         "                         that uses a slot nothing wrote shows NaN (a test check)\n"
         "  --help                 this text\n";
}

namespace {

absl::StatusOr<std::vector<int32_t>> parseIds(const std::string &text) {
  std::vector<int32_t> ids;
  for (absl::string_view part : absl::StrSplit(text, ',')) {
    int32_t id;
    if (!absl::SimpleAtoi(part, &id))
      return absl::InvalidArgumentError(absl::StrCat(
          "--prompt-ids expects comma-separated token ids (e.g. 2,10,11), got '", text, "'"));
    ids.push_back(id);
  }
  return ids;
}

template <typename T>
absl::StatusOr<T> parseNumber(const std::string &flag, const std::string &text, const char *what) {
  T value;
  bool ok;
  if constexpr (std::is_floating_point_v<T>)
    ok = absl::SimpleAtod(text, &value);
  else
    ok = absl::SimpleAtoi(text, &value);
  if (!ok)
    return absl::InvalidArgumentError(absl::StrCat(flag, " expects ", what, ", got '", text, "'"));
  return value;
}

} // namespace

absl::StatusOr<Options> parseArgs(int argc, char **argv) {
  Options options;
  std::vector<std::string> args(argv + 1, argv + argc);
  std::vector<std::string> generationFlags, invocationFlags; // as given, for mode checks
  for (size_t i = 0; i < args.size(); ++i) {
    std::string arg = args[i];
    std::string value;
    bool hasInlineValue = false;
    if (arg.rfind("--", 0) == 0 && arg.find('=') != std::string::npos) {
      value = arg.substr(arg.find('=') + 1);
      arg = arg.substr(0, arg.find('='));
      hasInlineValue = true;
    }
    auto takeValue = [&]() -> absl::StatusOr<std::string> {
      if (hasInlineValue)
        return value;
      if (i + 1 >= args.size())
        return absl::InvalidArgumentError(absl::StrCat(arg, " needs a value"));
      return args[++i];
    };
    auto flagOnly = [&]() -> absl::Status {
      return hasInlineValue ? absl::InvalidArgumentError(arg + " takes no value")
                            : absl::OkStatus();
    };
    if (arg == "--help" || arg == "-h") {
      options.help = true;
    } else if (arg == "--prompt" || arg == "-p") {
      MVC_ASSIGN_OR_RETURN(std::string text, takeValue());
      options.prompts.push_back({std::move(text), {}});
    } else if (arg == "--chat") {
      MVC_RETURN_IF_ERROR(flagOnly());
      options.chat = true;
      generationFlags.push_back(arg);
    } else if (arg == "--system") {
      MVC_ASSIGN_OR_RETURN(options.system, takeValue());
      generationFlags.push_back(arg);
    } else if (arg == "--tools") {
      MVC_ASSIGN_OR_RETURN(options.toolsFile, takeValue());
      generationFlags.push_back(arg);
    } else if (arg == "--enable-thinking") {
      options.enableThinking = true;
      generationFlags.push_back(arg);
    } else if (arg == "--reasoning") {
      MVC_ASSIGN_OR_RETURN(std::string value, takeValue());
      if (value != "show" && value != "hide")
        return absl::InvalidArgumentError("--reasoning: expected show or hide, got '" + value + "'");
      options.showReasoning = value == "show";
      generationFlags.push_back(arg);
    } else if (arg == "--prompt-ids") {
      MVC_ASSIGN_OR_RETURN(std::string text, takeValue());
      MVC_ASSIGN_OR_RETURN(std::vector<int32_t> ids, parseIds(text));
      options.prompts.push_back({std::nullopt, std::move(ids)});
    } else if (arg == "--messages") {
      MVC_ASSIGN_OR_RETURN(std::string file, takeValue());
      Prompt prompt;
      prompt.messagesFile = std::move(file);
      options.prompts.push_back(std::move(prompt));
    } else if (arg == "--image" || arg == "--pixel-values") {
      MVC_ASSIGN_OR_RETURN(std::string file, takeValue());
      if (options.prompts.empty())
        return absl::InvalidArgumentError(
            absl::StrCat(arg, " ", file, " comes before any -p/--prompt or --prompt-ids (an "
                                         "image belongs to the prompt before it)"));
      Prompt &prompt = options.prompts.back();
      if (prompt.messagesFile)
        return absl::InvalidArgumentError(absl::StrCat(
            arg, " ", file, " follows --messages ", *prompt.messagesFile,
            ": a conversation's images are its image parts"));
      (arg == "--image" ? prompt.images : prompt.pixelValues).push_back(file);
      if (arg == "--pixel-values")
        prompt.pixelMasks.emplace_back();
      if (!prompt.images.empty() && !prompt.pixelValues.empty())
        return absl::InvalidArgumentError(
            "a prompt takes --image files or --pixel-values arrays, not both");
      if (arg == "--image" && !prompt.text)
        return absl::InvalidArgumentError(
            absl::StrCat("--image ", file, " follows --prompt-ids: ids already hold the image "
                         "tokens, so give the preprocessed pixels with --pixel-values"));
    } else if (arg == "--video") {
      MVC_ASSIGN_OR_RETURN(std::string file, takeValue());
      if (options.prompts.empty())
        return absl::InvalidArgumentError(
            absl::StrCat(arg, " ", file, " comes before any -p/--prompt or --prompt-ids (a "
                                         "video belongs to the prompt before it)"));
      Prompt &prompt = options.prompts.back();
      if (prompt.messagesFile)
        return absl::InvalidArgumentError(absl::StrCat(
            arg, " ", file, " follows --messages ", *prompt.messagesFile,
            ": a conversation's videos are its video parts"));
      prompt.videos.push_back(file);
    } else if (arg == "--video-fps") {
      MVC_ASSIGN_OR_RETURN(std::string text, takeValue());
      MVC_ASSIGN_OR_RETURN(double fps, parseNumber<double>(arg, text, "a number"));
      if (!(fps > 0) || !std::isfinite(fps))
        return absl::InvalidArgumentError(
            absl::StrCat("--video-fps expects a positive frame rate, got '", text, "'"));
      options.videoFps = fps;
    } else if (arg == "--pixel-attention-mask") {
      MVC_ASSIGN_OR_RETURN(std::string file, takeValue());
      if (options.prompts.empty() || options.prompts.back().pixelValues.empty())
        return absl::InvalidArgumentError(absl::StrCat(
            arg, " ", file, " does not follow a --pixel-values (it is the mask of those frames)"));
      std::string &mask = options.prompts.back().pixelMasks.back();
      if (!mask.empty())
        return absl::InvalidArgumentError(absl::StrCat(arg, " ", file, ": the --pixel-values ",
                                                       options.prompts.back().pixelValues.back(),
                                                       " already has the mask ", mask));
      mask = file;
    } else if (arg == "--max-new-tokens") {
      MVC_ASSIGN_OR_RETURN(std::string text, takeValue());
      MVC_ASSIGN_OR_RETURN(options.maxNewTokens,
                           parseNumber<int64_t>(arg, text, "an integer >= 0"));
      generationFlags.push_back(arg);
    } else if (arg == "--prefill-chunk") {
      MVC_ASSIGN_OR_RETURN(std::string text, takeValue());
      MVC_ASSIGN_OR_RETURN(options.prefillChunk,
                           parseNumber<int64_t>(arg, text, "an integer >= 0"));
      generationFlags.push_back(arg);
    } else if (arg == "--temperature") {
      MVC_ASSIGN_OR_RETURN(std::string text, takeValue());
      MVC_ASSIGN_OR_RETURN(options.sampling.temperature,
                           parseNumber<double>(arg, text, "a number"));
      generationFlags.push_back(arg);
    } else if (arg == "--top-k") {
      MVC_ASSIGN_OR_RETURN(std::string text, takeValue());
      MVC_ASSIGN_OR_RETURN(options.sampling.topK, parseNumber<int32_t>(arg, text, "an integer"));
      generationFlags.push_back(arg);
    } else if (arg == "--top-p") {
      MVC_ASSIGN_OR_RETURN(std::string text, takeValue());
      MVC_ASSIGN_OR_RETURN(options.sampling.topP, parseNumber<double>(arg, text, "a number"));
      generationFlags.push_back(arg);
    } else if (arg == "--min-p") {
      MVC_ASSIGN_OR_RETURN(std::string text, takeValue());
      MVC_ASSIGN_OR_RETURN(options.sampling.minP, parseNumber<double>(arg, text, "a number"));
      generationFlags.push_back(arg);
    } else if (arg == "--seed") {
      MVC_ASSIGN_OR_RETURN(std::string text, takeValue());
      MVC_ASSIGN_OR_RETURN(options.sampling.seed,
                           parseNumber<uint64_t>(arg, text, "an integer >= 0"));
      generationFlags.push_back(arg);
    } else if (arg == "--print-ids") {
      MVC_RETURN_IF_ERROR(flagOnly());
      options.printIds = true;
      generationFlags.push_back(arg);
    } else if (arg == "--dump-outputs") {
      MVC_ASSIGN_OR_RETURN(options.dumpOutputsDir, takeValue());
      std::error_code ec;
      if (!std::filesystem::is_directory(options.dumpOutputsDir, ec))
        return absl::InvalidArgumentError(
            absl::StrCat("--dump-outputs: ", options.dumpOutputsDir, " is not a directory"));
      generationFlags.push_back(arg);
    } else if (arg == "--logits-out") {
      MVC_ASSIGN_OR_RETURN(options.logitsOut, takeValue());
      // Checked now, not after a long generation: an empty name, a missing directory, a
      // device or a symlink at the path are refused before any work.
      if (absl::Status target = AtomicFile::checkTarget(options.logitsOut); !target.ok())
        return absl::InvalidArgumentError(absl::StrCat("--logits-out: ", target.message()));
      generationFlags.push_back(arg);
    } else if (arg == "--max-activation-memory") {
      MVC_ASSIGN_OR_RETURN(std::string text, takeValue());
      std::optional<uint64_t> bytes = parseByteSize(text);
      if (!bytes)
        return absl::InvalidArgumentError(
            "--max-activation-memory expects a positive size in bytes (suffix K, M or G), got '" +
            text + "'");
      options.maxActivationMemory = *bytes;
      generationFlags.push_back(arg);
    } else if (arg == "--pan-and-scan") {
      MVC_RETURN_IF_ERROR(flagOnly());
      options.imageSplitting = ImageSplitting::kOn;
      generationFlags.push_back(arg);
    } else if (arg == "--image-splitting") {
      MVC_ASSIGN_OR_RETURN(std::string text, takeValue());
      if (text != "on" && text != "off")
        return absl::InvalidArgumentError(
            absl::StrCat("--image-splitting expects on or off, got '", text, "'"));
      options.imageSplitting = text == "on" ? ImageSplitting::kOn : ImageSplitting::kOff;
      generationFlags.push_back(arg);
    } else if (arg == "--all-logits") {
      MVC_RETURN_IF_ERROR(flagOnly());
      options.allLogits = true;
      generationFlags.push_back(arg);
    } else if (arg == "--function") {
      MVC_ASSIGN_OR_RETURN(std::string name, takeValue());
      options.invocations.push_back({name, {}});
      invocationFlags.push_back(arg);
    } else if (arg == "--input") {
      MVC_ASSIGN_OR_RETURN(std::string file, takeValue());
      (options.invocations.empty() ? options.looseInputs : options.invocations.back().inputs)
          .push_back(file);
      invocationFlags.push_back(arg);
    } else if (arg == "--output-dir") {
      MVC_ASSIGN_OR_RETURN(options.outputDir, takeValue());
      invocationFlags.push_back(arg);
    } else if (arg == "--device") {
      MVC_ASSIGN_OR_RETURN(options.device, takeValue());
    } else if (arg == "--threads") {
      MVC_ASSIGN_OR_RETURN(std::string text, takeValue());
      // More threads than any machine has cores only fails later, creating them.
      if (!absl::SimpleAtoi(text, &options.threads) || options.threads < 0 ||
          options.threads > 256)
        return absl::InvalidArgumentError("--threads expects an integer from 0 (all cores) to 256, got '" +
                                          text + "'");
    } else if (arg == "--load-symbol") {
      MVC_ASSIGN_OR_RETURN(std::string text, takeValue());
      size_t eq = text.find('=');
      int64_t number;
      if (eq == std::string::npos || eq == 0 || !absl::SimpleAtoi(text.substr(eq + 1), &number))
        return absl::InvalidArgumentError("--load-symbol expects NAME=INTEGER, got '" + text + "'");
      options.loadSymbols.emplace_back(text.substr(0, eq), number);
    } else if (arg == "--dump-schedule") {
      MVC_RETURN_IF_ERROR(flagOnly());
      options.dumpSchedule = true;
    } else if (arg == "--profile") {
      MVC_RETURN_IF_ERROR(flagOnly());
      options.profile = true;
    } else if (arg == "--verify") {
      MVC_RETURN_IF_ERROR(flagOnly());
      options.verify = true;
    } else if (arg == "--poison-states") {
      MVC_RETURN_IF_ERROR(flagOnly());
      options.poisonStates = true;
    } else if (arg.rfind("-", 0) == 0 && arg != "-") {
      return absl::InvalidArgumentError("unknown flag '" + arg + "' (see --help)");
    } else if (options.artifact.empty()) {
      options.artifact = arg;
    } else {
      return absl::InvalidArgumentError(absl::StrCat(
          "unexpected argument '", arg, "' (the artifact is '", options.artifact, "')"));
    }
  }
  if (options.help)
    return options;
  if (options.artifact.empty())
    return absl::InvalidArgumentError(
        "no artifact given (usage: mvc-run ARTIFACT ...; see --help)");
  if (options.generating() && !invocationFlags.empty())
    return absl::InvalidArgumentError(
        absl::StrCat(invocationFlags.front(), " runs programs on .npy files; it does not go with "
                                              "-p/--prompt or --prompt-ids (generation)"));
  if (!options.generating() && !generationFlags.empty())
    return absl::InvalidArgumentError(
        absl::StrCat(generationFlags.front(), " needs -p/--prompt or --prompt-ids (generation)"));
  bool anyText = std::any_of(options.prompts.begin(), options.prompts.end(),
                             [](const Prompt &prompt) { return prompt.text.has_value(); });
  if (options.chat && !anyText)
    return absl::InvalidArgumentError(
        "--chat applies to text prompts (-p/--prompt); --prompt-ids are used as given");
  if (!options.system.empty() && !options.chat)
    return absl::InvalidArgumentError("--system needs --chat");
  if (options.allLogits && options.logitsOut.empty())
    return absl::InvalidArgumentError("--all-logits needs --logits-out FILE.npy");
  if (options.maxNewTokens < 0)
    return absl::InvalidArgumentError(
        absl::StrCat("--max-new-tokens expects an integer >= 0, got ", options.maxNewTokens));
  if (options.prefillChunk < 0)
    return absl::InvalidArgumentError(
        absl::StrCat("--prefill-chunk expects an integer >= 0, got ", options.prefillChunk));
  MVC_RETURN_IF_ERROR(options.sampling.validate());
  if (!options.looseInputs.empty() && !options.invocations.empty())
    return absl::InvalidArgumentError(
        absl::StrCat("--input ", options.looseInputs.front(), " comes before any --function"));
  return options;
}

} // namespace mvc::run
