//===- Checkpoint.cpp - model checkpoints as mvc graphs and weights ------===//
#include "compiler/Pipelines/Checkpoint.h"

#include "architectures/common/Architecture.h"
#include "architectures/gemma3/Gemma3Gguf.h"
#include "compiler/Builder/GraphBuilder.h"
#include "runtime/text/chat_template.h"
#include "runtime/text/tokenizer.h"
#include "runtime/weights/Gguf.h"
#include "runtime/weights/SafetensorsReader.h"

#include "llvm/ADT/StringRef.h"
#include "llvm/Support/FileSystem.h"

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

private:
  std::unique_ptr<SafetensorsReader> reader;
};

class Gemma3GgufSource : public CheckpointSource {
public:
  Gemma3GgufSource(std::unique_ptr<GgufReader> reader, std::string file, Gemma3GgufImport import)
      : reader(std::move(reader)), file(std::move(file)), import(std::move(import)) {}
  std::string path() const override { return file; }
  bool contains(const std::string &name) const override { return import.contains(name); }
  absl::StatusOr<std::vector<int64_t>> shape(const std::string &name) const override {
    return import.shape(name);
  }
  absl::StatusOr<std::vector<float>> readAsF32(const std::string &name) const override {
    return import.readAsF32(name);
  }
  const Gemma3GgufImport &gemma3() const { return import; }

private:
  std::unique_ptr<GgufReader> reader;  // owned before `import`, which points into it
  std::string file;
  Gemma3GgufImport import;
};


/// The tokenizer files of a checkpoint, checked by loading them as the runtime will.
/// Absent files are fine (the artifact then runs on token ids); broken ones are errors.
absl::Status collectTokenizer(const std::string &dir, int64_t modelVocab,
                               std::vector<std::pair<std::string, std::string>> &sections,
                               json &entry) {
  auto slurp = [](const std::string &path) {
    std::ifstream in(path, std::ios::binary);
    std::stringstream bytes;
    bytes << in.rdbuf();
    return bytes.str();
  };
  std::string tokPath = dir + "/tokenizer.json", cfgPath = dir + "/tokenizer_config.json";
  if (!llvm::sys::fs::exists(tokPath)) return absl::OkStatus();
  std::string tokenizer = slurp(tokPath);
  auto parsed = text::Tokenizer::fromJson(tokenizer);
  if (!parsed.ok()) return absl::InvalidArgumentError(tokPath + ": " + std::string(parsed.status().message()));
  if (int64_t((*parsed)->vocabSize()) > modelVocab)
    return absl::InvalidArgumentError(tokPath + ": the tokenizer has " +
                                      std::to_string((*parsed)->vocabSize()) +
                                      " tokens but the model's vocab_size is " +
                                      std::to_string(modelVocab));
  sections.push_back({"tokenizer.json", tokenizer});
  entry = {{"tokenizer", "tokenizer.json"}};
  if (llvm::sys::fs::exists(cfgPath)) {
    std::string config = slurp(cfgPath);
    auto cfg = text::parseTokenizerConfig(config);
    if (!cfg.ok()) return absl::InvalidArgumentError(cfgPath + ": " + std::string(cfg.status().message()));
    if (!cfg->chat_template.empty()) {
      auto tmpl = text::ChatTemplate::parse(cfg->chat_template);
      if (!tmpl.ok())
        return absl::InvalidArgumentError(cfgPath + ": chat_template: " +
                                          std::string(tmpl.status().message()));
    }
    sections.push_back({"tokenizer_config.json", config});
    entry["tokenizer_config"] = "tokenizer_config.json";
  }
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
  auto import = Gemma3GgufImport::fromGguf(**reader);
  if (!import.ok()) return import.status();
  config = import->config();
  generation = import->generationConfig();
  configPath = opts.input;
  weights = std::make_unique<Gemma3GgufSource>(std::move(*reader), opts.input, std::move(*import));
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
  if (dtype != "f32" && dtype != "bf16")
    return absl::InvalidArgumentError("unknown --dtype '" + dtype + "' (expected f32 or bf16)");
  out.module = ModuleOp::create(UnknownLoc::get(&context));
  GraphBuilder gb(*out.module);
  ArchitectureInput input;
  input.config = config;
  input.generationConfig = generation;
  input.configPath = configPath;
  CheckpointSource *weights = out.weights.get();
  input.hasWeight = [weights](const std::string &name) { return weights && weights->contains(name); };
  input.options.weightType = dtype == "bf16" ? gb.bf16() : gb.f32();
  input.options.kvType = gb.f32();
  input.options.pageSize = opts.pageSize;
  auto built = (*arch)(input, gb);
  if (!built.ok()) return built.status();
  out.config = built->config;
  out.languageModel = built->languageModel;
  if (!gguf) {
    json text;
    absl::Status tok = collectTokenizer(opts.input, out.languageModel["vocab_size"].get<int64_t>(),
                                        out.sections, text);
    if (!tok.ok()) return tok;
    if (!text.is_null()) out.languageModel["text"] = text;
  }
  return out;
}

} // namespace mvc
