//===- TestArtifact.cpp ---------------------------------------------------===//
#include "runtime/executor/TestArtifact.h"

#include <fstream>
#include <cstring>
#include <sstream>

#include "compiler/Artifact/ArtifactWriter.h"
#include "runtime/artifact/Format.h"
#include "runtime/util/StatusMacros.h"

namespace mvc::testing {

nlohmann::ordered_json testManifest() {
  return nlohmann::ordered_json::parse(R"({
    "format_version": 1, "producer": "runtime tests", "architecture": "graph",
    "target": {"kind": "cpu", "cpu_features": []},
    "weights": [{"name": "w", "dtype": "f32", "shape": [8], "layout": "row_major",
                 "offset": 0, "size": 32}],
    "states": [{"name": "acc", "dtype": "f32", "shape": ["slots"]}],
    "load_symbols": {"slots": 16},
    "programs": [
      {"name": "main", "symbols": ["T"],
       "inputs": [{"name": "x", "dtype": "f32", "shape": ["T", 8], "buffer": 0}],
       "outputs": [{"name": "y", "dtype": "f32", "shape": ["T", 8], "buffer": 5}],
       "buffers": [
         {"id": 0, "kind": "input", "index": 0},
         {"id": 1, "kind": "weight", "weight": "w"},
         {"id": 2, "kind": "transient", "size": ["T", 32, "*"], "first": 0, "last": 2},
         {"id": 3, "kind": "transient", "size": ["T", 32, "*"], "first": 1, "last": 2},
         {"id": 4, "kind": "transient", "size": ["T", 32, "*"], "first": 2, "last": 3},
         {"id": 5, "kind": "output", "index": 0}],
       "steps": [
         {"kind": "dispatch", "kernel": "scale_add_rows", "workgroups": ["T", 2, "ceildiv"],
          "bindings": [0, 1, 2], "push": ["T", 8, 2]},
         {"kind": "dispatch", "kernel": "scale_add_rows", "workgroups": ["T", 2, "ceildiv"],
          "bindings": [2, 1, 3], "push": ["T", 8, 2]},
         {"kind": "dispatch", "kernel": "add", "workgroups": ["T", 8, "*", 16, "ceildiv"],
          "bindings": [2, 3, 4], "push": [["T", 8, "*"], 16]},
         {"kind": "copy", "src": 4, "dst": 5, "size": ["T", 32, "*"]}]},
      {"name": "accumulate", "symbols": ["N"],
       "inputs": [{"name": "x", "dtype": "f32", "shape": ["N"], "buffer": 0}],
       "outputs": [{"name": "y", "dtype": "f32", "shape": ["N"], "buffer": 2}],
       "buffers": [
         {"id": 0, "kind": "input", "index": 0},
         {"id": 1, "kind": "state", "state": "acc"},
         {"id": 2, "kind": "output", "index": 0}],
       "steps": [{"kind": "dispatch", "kernel": "accumulate", "workgroups": "N",
                  "bindings": [0, 1, 2]}]},
      {"name": "pair", "symbols": ["T"],
       "inputs": [{"name": "a", "dtype": "f32", "shape": ["T"], "buffer": 0},
                  {"name": "b", "dtype": "f32", "shape": ["T"], "buffer": 1}],
       "outputs": [{"name": "c", "dtype": "f32", "shape": ["T"], "buffer": 2}],
       "buffers": [
         {"id": 0, "kind": "input", "index": 0},
         {"id": 1, "kind": "input", "index": 1},
         {"id": 2, "kind": "output", "index": 0, "size": ["T", 4, "*"]}],
       "steps": [{"kind": "dispatch", "kernel": "add", "workgroups": ["T", 64, "ceildiv"],
                  "bindings": [0, 1, 2], "push": ["T", 64]}]},
      {"name": "workgroups", "symbols": ["N"],
       "inputs": [{"name": "x", "dtype": "u8", "shape": ["N"], "buffer": 0}],
       "outputs": [{"name": "ids", "dtype": "i64", "shape": ["N"], "buffer": 1}],
       "buffers": [
         {"id": 0, "kind": "input", "index": 0},
         {"id": 1, "kind": "output", "index": 0}],
       "steps": [{"kind": "dispatch", "kernel": "record_workgroups", "workgroups": "N",
                  "bindings": [1]}]}
    ]})");
}

nlohmann::ordered_json testEmuManifest() {
  nlohmann::ordered_json manifest = testManifest();
  manifest["target"] = nlohmann::ordered_json::parse(R"({"kind": "cuda", "variants": [
      {"arch": "sm_80", "format": "emu", "section": "kernels.cuda-emu.sm_80"}]})");
  for (auto &program : manifest["programs"])
    for (auto &step : program["steps"])
      if (step["kind"] == "dispatch") step["block"] = {32, 1, 1};
  return manifest;
}

absl::Status writeTestArtifact(const std::string &path, const nlohmann::ordered_json &manifest,
                               const std::string &kernelsPath, const std::string &kernelsSection) {
  std::ifstream in(kernelsPath, std::ios::binary);
  if (!in)
    return absl::NotFoundError("cannot read the test kernels at " + kernelsPath);
  std::ostringstream kernels;
  kernels << in.rdbuf();
  std::string weights(32, '\0');
  for (int c = 0; c < 8; ++c) {
    float value = testWeight(c);
    std::memcpy(&weights[c * 4], &value, 4);
  }
  ArtifactWriter writer;
  MVC_RETURN_IF_ERROR(writer.addSection(artifact::kManifestSection, manifest.dump(2)));
  MVC_RETURN_IF_ERROR(writer.addSection(kernelsSection, kernels.str()));
  MVC_RETURN_IF_ERROR(writer.addSection(artifact::kWeightsSection, weights, /*lazy=*/true));
  return writer.write(path);
}

} // namespace mvc::testing
