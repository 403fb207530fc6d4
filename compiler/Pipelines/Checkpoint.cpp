//===- Checkpoint.cpp - model checkpoints as mvc graphs and weights ------===//
#include "compiler/Pipelines/Checkpoint.h"
#include "runtime/artifact/BlockFormat.h"
#include "runtime/util/StatusMacros.h"
#include "runtime/util/Json.h"
#include "runtime/util/Files.h"

#include "architectures/common/Architecture.h"
#include "architectures/common/GgufImport.h"
#include "compiler/Builder/GraphBuilder.h"
#include "runtime/text/ChatTemplate.h"
#include "runtime/text/Tokenizer.h"
#include "runtime/weights/Gguf.h"
#include "runtime/weights/SafetensorsReader.h"

#include "llvm/ADT/StringRef.h"
#include "llvm/Support/FileSystem.h"

#include <cctype>
#include <fstream>
#include <sstream>

using namespace mlir;
using json = nlohmann::ordered_json;

namespace mvc {
namespace {

class SafetensorsSource : public CheckpointSource {
public:
  explicit SafetensorsSource(std::unique_ptr<SafetensorsReader> reader) : reader(std::move(reader)) {}
  std::string path() const override { return reader->path(); }
  bool contains(const std::string &name) const override { return reader->contains(name); }
  absl::StatusOr<std::vector<int64_t>> shape(const std::string &name) const override {
    auto t = reader->tensor(name);
    if (!t.ok()) return t.status();
    return (*t)->shape;
  }
  absl::StatusOr<std::vector<float>> readAsF32(const std::string &name) const override {
    return reader->readAsF32(name);
  }
  bool readsRows(const std::string &name) const override { return reader->contains(name); }
  absl::StatusOr<std::vector<float>> readRowsAsF32(const std::string &name, int64_t begin,
                                                   int64_t count) const override {
    auto t = reader->tensor(name);
    if (!t.ok()) return t.status();
    int64_t rowElems = 1;
    for (size_t i = 1; i < (*t)->shape.size(); ++i) rowElems *= (*t)->shape[i];
    return reader->readAsF32(name, begin * rowElems, count * rowElems);
  }

private:
  std::unique_ptr<SafetensorsReader> reader;
};

/// A GGUF through its architecture's import (architectures/common/GgufImport.h).
class GgufSource : public CheckpointSource {
public:
  GgufSource(std::unique_ptr<GgufReader> reader, std::unique_ptr<GgufImport> import)
      : reader(std::move(reader)), import(std::move(import)) {}
  std::string path() const override { return reader->path(); }
  bool contains(const std::string &name) const override { return import->contains(name); }
  absl::StatusOr<std::vector<int64_t>> shape(const std::string &name) const override {
    return import->shape(name);
  }
  absl::StatusOr<std::vector<float>> readAsF32(const std::string &name) const override {
    return import->readAsF32(name);
  }
  bool readsRows(const std::string &name) const override { return import->readsRows(name); }
  absl::StatusOr<std::vector<float>> readRowsAsF32(const std::string &name, int64_t begin,
                                                   int64_t count) const override {
    return import->readRowsAsF32(name, begin, count);
  }
  std::optional<std::string> blockFormat(const std::string &name) const override {
    std::optional<GgmlType> type = import->blockType(name);
    if (!type) return std::nullopt;
    std::string format = ggmlTypeName(*type);
    for (char &c : format) c = char(std::tolower(static_cast<unsigned char>(c)));
    return format;
  }
  absl::StatusOr<std::string> readBlocks(const std::string &name) const override {
    MVC_ASSIGN_OR_RETURN(std::optional<GgufImport::Blocks> blocks, import->readBlocks(name));
    if (!blocks) return absl::InternalError("'" + name + "' has no blocks of its own");
    return std::move(blocks->bytes);
  }
  const GgufImport &gguf() const { return *import; }

private:
  std::unique_ptr<GgufReader> reader;  // owned before `import`, which points into it
  std::unique_ptr<GgufImport> import;
};

/// A checkpoint's tokenizer as the artifact will hold it; `where` names each source in errors.
struct TokenizerFiles {
  std::string tokenizer, tokenizerWhere;  // empty: the checkpoint has no tokenizer
  std::string config, configWhere;        // empty: no tokenizer_config.json
};

/// A JSON object given as text; `where` names it in errors.
absl::StatusOr<json> jsonObject(const std::string &text, const std::string &where) {
  absl::StatusOr<json> value = parseJson<json>(text, where);
  if (!value.ok()) return value.status();
  if (!value->is_object()) return absl::InvalidArgumentError(where + ": not a JSON object");
  return value;
}

/// tokenizer.json and tokenizer_config.json of an HF checkpoint directory, when present. A
/// chat_template.jinja beside them (where transformers v5 saves the template) becomes the
/// config's chat_template, as transformers loads it.
absl::StatusOr<TokenizerFiles> directoryTokenizer(const std::string &dir) {
  TokenizerFiles files;
  std::string tokPath = dir + "/tokenizer.json", cfgPath = dir + "/tokenizer_config.json";
  std::string jinjaPath = dir + "/chat_template.jinja";
  if (!llvm::sys::fs::exists(tokPath)) return files;
  MVC_ASSIGN_OR_RETURN(std::string tokenizer, readInputFile(tokPath, "tokenizer"));
  files = {std::move(tokenizer), tokPath, "", cfgPath};
  if (llvm::sys::fs::exists(cfgPath)) {
    MVC_ASSIGN_OR_RETURN(files.config, readInputFile(cfgPath, "tokenizer config"));
  }
  if (llvm::sys::fs::exists(jinjaPath)) {
    json config = json::object();
    if (!files.config.empty()) {
      MVC_ASSIGN_OR_RETURN(config, jsonObject(files.config, cfgPath));
    }
    MVC_ASSIGN_OR_RETURN(std::string jinja, readInputFile(jinjaPath, "chat template"));
    config["chat_template"] = std::move(jinja);
    files.config = config.dump();
    files.configWhere = cfgPath + " (with chat_template.jinja)";
  }
  return files;
}

/// The tokenizer converted from a GGUF's vocabulary (none when the file has no vocabulary).
absl::StatusOr<TokenizerFiles> ggufTokenizer(const GgufSource &source) {
  auto tokenizer = source.gguf().tokenizer();
  if (!tokenizer.ok()) return tokenizer.status();
  if (!*tokenizer) return TokenizerFiles{};
  return TokenizerFiles{std::move((*tokenizer)->tokenizerJson),
                        source.path() + ": converted tokenizer.json", (*tokenizer)->config.dump(),
                        source.path() + ": converted tokenizer_config.json"};
}

/// The chat template of --chat-template FILE: a tokenizer_config.json's chat_template, or
/// the file itself (a .jinja template); checked by parsing it as the runtime will.
absl::StatusOr<std::string> readChatTemplate(const std::string &path) {
  MVC_ASSIGN_OR_RETURN(std::string source, readInputFile(path, "--chat-template"));
  if (llvm::StringRef(path).ends_with(".json")) {
    auto config = text::parseTokenizerConfig(source);
    if (!config.ok()) return absl::InvalidArgumentError(path + ": " + std::string(config.status().message()));
    if (config->chat_template.empty())
      return absl::InvalidArgumentError(path + ": no chat_template");
    source = config->chat_template;
  }
  auto parsed = text::ChatTemplate::parse(source);
  if (!parsed.ok())
    return absl::InvalidArgumentError(path + ": chat_template: " + std::string(parsed.status().message()));
  return source;
}


/// Adds the tokenizer sections, checked by loading them as the runtime will; a chat
/// template given on the command line sets or replaces the config's.
absl::Status collectTokenizer(TokenizerFiles files, const std::string &chatTemplateFile,
                              int64_t modelVocab,
                              std::vector<std::pair<std::string, std::string>> &sections,
                              json &entry) {
  if (files.tokenizer.empty()) {
    if (!chatTemplateFile.empty())
      return absl::InvalidArgumentError("--chat-template " + chatTemplateFile +
                                        ": the checkpoint has no tokenizer to use it with");
    return absl::OkStatus();
  }
  auto parsed = text::Tokenizer::fromJson(files.tokenizer);
  if (!parsed.ok())
    return absl::InvalidArgumentError(files.tokenizerWhere + ": " + std::string(parsed.status().message()));
  if (int64_t((*parsed)->vocabSize()) > modelVocab)
    return absl::InvalidArgumentError(files.tokenizerWhere + ": the tokenizer has " +
                                      std::to_string((*parsed)->vocabSize()) +
                                      " tokens but the model's vocab_size is " +
                                      std::to_string(modelVocab));
  if (!chatTemplateFile.empty()) {
    auto chatTemplate = readChatTemplate(chatTemplateFile);
    if (!chatTemplate.ok()) return chatTemplate.status();
    json config = json::object();
    if (!files.config.empty()) {
      MVC_ASSIGN_OR_RETURN(config, jsonObject(files.config, files.configWhere));
    }
    config["chat_template"] = *chatTemplate;
    files.config = config.dump();
  }
  sections.push_back({"tokenizer.json", std::move(files.tokenizer)});
  entry = {{"tokenizer", "tokenizer.json"}};
  if (files.config.empty()) return absl::OkStatus();
  auto cfg = text::parseTokenizerConfig(files.config);
  if (!cfg.ok()) return absl::InvalidArgumentError(files.configWhere + ": " + std::string(cfg.status().message()));
  if (!cfg->chat_template.empty()) {
    auto tmpl = text::ChatTemplate::parse(cfg->chat_template);
    if (!tmpl.ok())
      return absl::InvalidArgumentError(files.configWhere + ": chat_template: " +
                                        std::string(tmpl.status().message()));
  }
  sections.push_back({"tokenizer_config.json", std::move(files.config)});
  entry["tokenizer_config"] = "tokenizer_config.json";
  return absl::OkStatus();
}


absl::Status prefixed(const std::string &where, const absl::Status &status) {
  return absl::Status(status.code(), where + ": " + std::string(status.message()));
}

/// config.json, generation_config.json and safetensors of an HF checkpoint directory.
absl::Status readDirectory(const CompileOptions &opts, json &config, json &generation,
                           std::string &configPath, std::unique_ptr<CheckpointSource> &weights) {
  configPath = opts.input + "/config.json";
  auto cfg = readJsonFile(configPath);
  if (!cfg.ok()) return cfg.status();
  config = *cfg;
  generation = json::object();
  std::string genPath = opts.input + "/generation_config.json";
  if (llvm::sys::fs::exists(genPath)) {
    auto g = readJsonFile(genPath);
    if (!g.ok()) return g.status();
    generation = *g;
  }
  std::error_code ec;
  bool hasSafetensors = false;
  for (llvm::sys::fs::directory_iterator it(opts.input, ec), end; it != end && !ec; it.increment(ec))
    hasSafetensors |= llvm::StringRef(it->path()).ends_with(".safetensors");
  if (hasSafetensors) {
    auto reader = SafetensorsReader::open(opts.input);
    if (!reader.ok()) return reader.status();
    weights = std::make_unique<SafetensorsSource>(std::move(*reader));
  } else if (!opts.randomSeed) {
    return absl::NotFoundError(opts.input + ": no *.safetensors weights (or give --random-weights SEED)");
  }
  return absl::OkStatus();
}

/// A GGUF presented as the HF checkpoint it was converted from.
absl::Status readGguf(const CompileOptions &opts, json &config, json &generation,
                      std::string &configPath, std::unique_ptr<CheckpointSource> &weights) {
  auto reader = GgufReader::open(opts.input);
  if (!reader.ok()) return reader.status();
  auto import = importGguf(**reader);
  if (!import.ok()) return import.status();
  config = (*import)->config();
  generation = (*import)->generationConfig();
  configPath = opts.input;
  weights = std::make_unique<GgufSource>(std::move(*reader), std::move(*import));
  return absl::OkStatus();
}

} // namespace

bool isCheckpointInput(const std::string &input) {
  return llvm::sys::fs::is_directory(input) || llvm::StringRef(input).ends_with(".gguf");
}

absl::StatusOr<CheckpointBuild> buildFromCheckpoint(const CompileOptions &opts,
                                                    MLIRContext &context) {
  CheckpointBuild out;
  json config, generation;
  std::string configPath;
  bool gguf = llvm::StringRef(opts.input).ends_with(".gguf");
  out.sourceKind = gguf ? "gguf" : "hf";
  absl::Status read = gguf ? readGguf(opts, config, generation, configPath, out.weights)
                           : readDirectory(opts, config, generation, configPath, out.weights);
  if (!read.ok()) return read;

  const json &archs = config["architectures"];
  if (!archs.is_array() || archs.empty() || !archs[0].is_string())
    return absl::InvalidArgumentError(configPath + ": architectures: expected a list naming the model class");
  out.architecture = archs[0].get<std::string>();
  auto arch = findArchitecture(out.architecture);
  if (!arch.ok()) return prefixed(configPath, arch.status());

  std::string dtype = opts.dtype.empty() ? "bf16" : opts.dtype;
  const BlockFormat *named = findBlockFormat(dtype);
  bool blocks = named != nullptr;
  if (dtype != "f32" && dtype != "bf16" && !blocks && dtype != "keep")
    return absl::InvalidArgumentError("unknown --dtype '" + dtype +
                                      "' (expected f32, bf16, keep, q8_0, q4_0, q4_1, q5_0, "
                                      "q5_1, q4_k, q5_k or q6_k)");
  if (dtype == "keep" && !gguf)
    return absl::InvalidArgumentError(
        "--dtype keep keeps a GGUF file's block formats, but '" + opts.input +
        "' is not a .gguf file (--dtype q8_0 quantizes any checkpoint)");
  // The weights the graph passes store in blocks (--mvc-quantize-weights) are read as f32.
  // q8_0 and the like: all others are bf16, as with --dtype bf16. keep: all others f32 (the
  // file's F32 norms, and anything the kernels have no block format for, exactly), and the
  // model computes in f32 as its reference does (transformers on the dequantized file).
  if (blocks) dtype = "bf16";
  if (dtype == "keep") dtype = "f32";
  out.module = ModuleOp::create(UnknownLoc::get(&context));
  GraphBuilder gb(*out.module);
  ArchitectureInput input;
  input.config = config;
  input.generationConfig = generation;
  input.configPath = configPath;
  CheckpointSource *weights = out.weights.get();
  input.hasWeight = [weights](const std::string &name) { return weights && weights->contains(name); };
  input.weightShape = [weights](const std::string &name) -> std::optional<std::vector<int64_t>> {
    if (!weights || !weights->contains(name)) return std::nullopt;
    auto shape = weights->shape(name);
    if (!shape.ok()) return std::nullopt;
    return *shape;
  };
  input.options.weightType = dtype == "bf16" ? gb.bf16() : gb.f32();
  // The KV cache holds what the model computes in: bf16 for bf16 weights, as a bf16 HF
  // model caches it (and half the bytes decode reads per cached token).
  std::string kvDtype = opts.kvDtype.empty() ? dtype : opts.kvDtype;
  if (kvDtype != "f32" && kvDtype != "bf16")
    return absl::InvalidArgumentError("unknown --kv-dtype '" + kvDtype + "' (expected f32 or bf16)");
  input.options.kvType = kvDtype == "bf16" ? gb.bf16() : gb.f32();
  input.options.pageSize = opts.pageSize;
  input.options.exposeRouting = opts.exposeRouting;
  if (!gguf) {
    input.processorConfigPath = opts.input + "/preprocessor_config.json";
    if (llvm::sys::fs::exists(input.processorConfigPath)) {
      MVC_ASSIGN_OR_RETURN(input.processorConfig,
                           readInputFile(input.processorConfigPath, "image processor config"));
    }
    input.videoProcessorConfigPath = opts.input + "/video_preprocessor_config.json";
    if (llvm::sys::fs::exists(input.videoProcessorConfigPath)) {
      MVC_ASSIGN_OR_RETURN(input.videoProcessorConfig,
                           readInputFile(input.videoProcessorConfigPath, "video processor config"));
    }
  }
  auto built = (*arch)(input, gb);
  if (!built.ok()) return built.status();
  out.config = built->config;
  out.languageModel = built->languageModel;
  out.notes = built->notes;
  // Each weight the file stores in blocks says which (what --dtype keep keeps).
  if (gguf)
    out.module->walk([&](WeightOp w) {
      if (std::optional<std::string> format = out.weights->blockFormat(w.getName().str()))
        w->setAttr("mvc.source_format", StringAttr::get(&context, *format));
    });
  TokenizerFiles tokenizer;
  if (gguf) {
    auto converted = ggufTokenizer(static_cast<GgufSource &>(*out.weights));
    if (!converted.ok()) return converted.status();
    tokenizer = std::move(*converted);
  } else {
    auto files = directoryTokenizer(opts.input);
    if (!files.ok()) return files.status();
    tokenizer = std::move(*files);
  }
  json text;
  absl::Status tok = collectTokenizer(std::move(tokenizer), opts.chatTemplate,
                                      out.languageModel["vocab_size"].get<int64_t>(), out.sections,
                                      text);
  if (!tok.ok()) return tok;
  if (!text.is_null()) out.languageModel["text"] = text;
  // The architecture checked the image processor config it takes (ArchitectureInput).
  if (out.languageModel.contains("vision") && !input.processorConfig.empty()) {
    out.sections.push_back({"preprocessor_config.json", input.processorConfig});
    out.languageModel["processor_config"] = "preprocessor_config.json";
  }
  if (out.languageModel.contains("vision") && out.languageModel["vision"].value("takes_videos", false) &&
      !input.videoProcessorConfig.empty()) {
    out.sections.push_back({"video_preprocessor_config.json", input.videoProcessorConfig});
    out.languageModel["video_processor_config"] = "video_preprocessor_config.json";
  }
  return out;
}

} // namespace mvc
