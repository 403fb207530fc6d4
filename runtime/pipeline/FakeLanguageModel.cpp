//===- FakeLanguageModel.cpp ----------------------------------------------===//
#include "runtime/pipeline/FakeLanguageModel.h"

#include <algorithm>
#include <fstream>
#include <sstream>

#include "compiler/Artifact/ArtifactWriter.h"
#include "runtime/artifact/Format.h"
#include "runtime/util/StatusMacros.h"

namespace mvc::testing {

nlohmann::ordered_json FakeLanguageModel::manifest() const {
  nlohmann::ordered_json manifest = nlohmann::ordered_json::parse(R"({
    "format_version": 1, "producer": "pipeline tests", "architecture": "fake_lm",
    "target": {"kind": "cpu", "cpu_features": []},
    "weights": [],
    "load_symbols": {},
    "programs": [
      {"name": "forward", "symbols": ["T", "B", "P", "B1", "N"],
       "inputs": [
         {"name": "tokens", "dtype": "i32", "shape": ["T"], "buffer": 0},
         {"name": "positions", "dtype": "i32", "shape": ["T"], "buffer": 1},
         {"name": "block_table", "dtype": "i32", "shape": ["B", "P"], "buffer": 2},
         {"name": "row_offsets", "dtype": "i32", "shape": ["B1"], "buffer": 3},
         {"name": "cache_lens", "dtype": "i32", "shape": ["B"], "buffer": 4},
         {"name": "logit_rows", "dtype": "i32", "shape": ["N"], "buffer": 5}],
       "outputs": [{"name": "logits", "dtype": "f32", "shape": ["N", 0], "buffer": 7}],
       "buffers": [
         {"id": 0, "kind": "input", "index": 0}, {"id": 1, "kind": "input", "index": 1},
         {"id": 2, "kind": "input", "index": 2}, {"id": 3, "kind": "input", "index": 3},
         {"id": 4, "kind": "input", "index": 4}, {"id": 5, "kind": "input", "index": 5},
         {"id": 6, "kind": "state", "state": "kv"},
         {"id": 7, "kind": "output", "index": 0}],
       "steps": [{"kind": "dispatch", "kernel": "fake_forward", "workgroups": 1,
                  "bindings": [0, 1, 2, 3, 4, 5, 6, 7],
                  "push": ["T", "B", "P", "N", 0, 0, "num_pages"]}]}],
    "language_model": {"architecture": "gemma3", "program": "forward", "bos_token_id": 2, "pad_token_id": 0}
  })");
  manifest["states"] = {{{"name", "kv"}, {"dtype", "i32"}, {"shape", {"num_pages", pageSize}}}};
  manifest["load_symbols"]["num_pages"] = numPages;
  nlohmann::ordered_json &forward = manifest["programs"][0];
  forward["outputs"][0]["shape"][1] = vocabSize;
  forward["steps"][0]["push"][4] = vocabSize;
  forward["steps"][0]["push"][5] = pageSize;
  nlohmann::ordered_json &lm = manifest["language_model"];
  lm["vocab_size"] = vocabSize;
  lm["page_size"] = pageSize;
  lm["eos_token_ids"] = eosTokenIds;
  lm["max_positions"] = maxPositions;
  return manifest;
}

int32_t FakeLanguageModel::next(const std::vector<int32_t> &sequence) const {
  int64_t sum = static_cast<int64_t>(sequence.size()) - 1;
  for (int32_t token : sequence)
    sum += token;
  return static_cast<int32_t>(sum % vocabSize);
}

std::vector<int32_t> FakeLanguageModel::continuation(std::vector<int32_t> prompt,
                                                     int64_t maxNewTokens) const {
  std::vector<int32_t> generated;
  while (static_cast<int64_t>(generated.size()) < maxNewTokens) {
    int32_t token = next(prompt);
    generated.push_back(token);
    prompt.push_back(token);
    if (std::count(eosTokenIds.begin(), eosTokenIds.end(), token))
      break;
  }
  return generated;
}

absl::Status
writeFakeLanguageModel(const std::string &path, const nlohmann::ordered_json &manifest,
                       const std::string &kernelsPath,
                       const std::vector<std::pair<std::string, std::string>> &extraSections) {
  std::ifstream in(kernelsPath, std::ios::binary);
  if (!in)
    return absl::NotFoundError("cannot read the fake model's kernels at " + kernelsPath);
  std::ostringstream kernels;
  kernels << in.rdbuf();
  ArtifactWriter writer;
  MVC_RETURN_IF_ERROR(writer.addSection(artifact::kManifestSection, manifest.dump(2)));
  MVC_RETURN_IF_ERROR(writer.addSection(artifact::kCpuKernelsSection, kernels.str()));
  for (const auto &[name, bytes] : extraSections)
    MVC_RETURN_IF_ERROR(writer.addSection(name, bytes));
  return writer.write(path);
}

} // namespace mvc::testing
