#include "runtime/artifact/Manifest.h"

#include <functional>

#include "gtest/gtest.h"

namespace mvc {
namespace {

using Json = nlohmann::ordered_json;

/// The example of FORMAT.md, made consistent.
Json validManifest() {
  return Json::parse(R"({
    "format_version": 1, "producer": "test", "architecture": "graph",
    "source": {"path": "x.mlir", "kind": "mlir"}, "config": {"hidden": 64},
    "target": {"kind": "cpu", "cpu": "x86-64-v4", "cpu_features": ["avx2"]},
    "weights": [{"name": "w0", "dtype": "f32", "shape": [64, 64], "layout": "row_major",
                 "offset": 0, "size": 16384}],
    "states": [{"name": "kv.0.k", "dtype": "f32", "shape": ["num_pages", 16, 2, 64]}],
    "load_symbols": {"num_pages": 64},
    "programs": [{
      "name": "main", "symbols": ["T"],
      "inputs": [{"name": "x", "dtype": "f32", "shape": ["T", 64], "buffer": 0}],
      "outputs": [{"name": "y", "dtype": "f32", "shape": ["T", 64], "buffer": 3}],
      "buffers": [
        {"id": 0, "kind": "input", "index": 0},
        {"id": 1, "kind": "weight", "weight": "w0"},
        {"id": 2, "kind": "transient", "size": ["T", 256, "*"], "first": 0, "last": 1},
        {"id": 3, "kind": "output", "index": 0, "size": ["T", 256, "*"]},
        {"id": 4, "kind": "state", "state": "kv.0.k"}
      ],
      "steps": [
        {"kind": "dispatch", "kernel": "main_dispatch_0", "workgroups": ["T", 4, "ceildiv"],
         "bindings": [0, 1, 2, 4], "push": ["T"]},
        {"kind": "copy", "src": 2, "src_offset": 0, "dst": 3, "dst_offset": 0,
         "size": ["T", 256, "*"]}
      ]
    }]
  })");
}

std::string errorAfter(const std::function<void(Json &)> &mutate) {
  Json json = validManifest();
  mutate(json);
  absl::StatusOr<Manifest> manifest = parseManifest(json.dump());
  return manifest.ok() ? "parsed" : std::string(manifest.status().message());
}

TEST(Manifest, ParsesTheFormatExample) {
  absl::StatusOr<Manifest> manifest = parseManifest(validManifest().dump());
  ASSERT_TRUE(manifest.ok()) << manifest.status();
  EXPECT_EQ(manifest->target.cpuFeatures, std::vector<std::string>{"avx2"});
  EXPECT_EQ(manifest->loadSymbols.at(0).second, 64);
  ASSERT_EQ(manifest->programs.size(), 1u);
  const ProgramInfo &program = manifest->programs[0];
  EXPECT_EQ(program.buffers[4].kind, BufferKind::State);
  EXPECT_EQ(program.buffers[1].index, 0);
  EXPECT_EQ(program.steps[0].bindings, (std::vector<int64_t>{0, 1, 2, 4}));
  EXPECT_EQ(program.steps[0].workgroups.toString(), "ceildiv(T, 4)");
  EXPECT_EQ(program.steps[1].kind, StepKind::Copy);
  EXPECT_EQ(program.outputs[0].buffer, 3);
  EXPECT_EQ(manifest->findProgram("main"), &program);
  EXPECT_EQ(manifest->findProgram("nope"), nullptr);
}

TEST(Manifest, BufferIdsNeedNotBePositions) {
  Json json = validManifest();
  auto &program = json["programs"][0];
  program["buffers"][0]["id"] = 10;
  program["inputs"][0]["buffer"] = 10;
  program["steps"][0]["bindings"][0] = 10;
  absl::StatusOr<Manifest> manifest = parseManifest(json.dump());
  ASSERT_TRUE(manifest.ok()) << manifest.status();
  EXPECT_EQ(manifest->programs[0].steps[0].bindings[0], 0);
  EXPECT_EQ(manifest->programs[0].inputs[0].buffer, 0);
}

struct BadCase {
  const char *what;
  std::function<void(Json &)> mutate;
  const char *error;
};

TEST(Manifest, ReadsGpuVariantsAndLaunchShapes) {
  Json json = validManifest();
  json["target"] = Json::parse(R"({"kind": "cuda", "variants": [
      {"arch": "sm_80", "format": "cubin", "section": "kernels.cuda.sm_80"},
      {"arch": "sm_80", "format": "emu", "section": "kernels.cuda-emu.sm_80"}]})");
  json["programs"][0]["steps"][0]["block"] = {128, 2};
  json["programs"][0]["steps"][0]["shared_bytes"] = 4096;
  absl::StatusOr<Manifest> manifest = parseManifest(json.dump());
  ASSERT_TRUE(manifest.ok()) << manifest.status();
  ASSERT_EQ(manifest->target.variants.size(), 2u);
  EXPECT_EQ(manifest->target.variants[1].format, "emu");
  EXPECT_EQ(manifest->target.variants[1].section, "kernels.cuda-emu.sm_80");
  const StepInfo &step = manifest->programs[0].steps[0];
  EXPECT_EQ(step.block, (std::array<int64_t, 3>{128, 2, 1}));
  EXPECT_EQ(step.sharedBytes, 4096);
  EXPECT_EQ(manifest->programs[0].steps[1].block, (std::array<int64_t, 3>{1, 1, 1}));
}

TEST(Manifest, EveryBadFieldIsNamedByItsPath) {
  const BadCase cases[] = {
      {"variant format", [](Json &j) {
         j["target"]["variants"] = Json::parse(R"([{"arch": "sm_80", "format": "sass", "section": "s"}])");
       }, "manifest: target.variants[0].format: unknown kernel format 'sass' (expected cubin, ptx or emu)"},
      {"block", [](Json &j) { j["programs"][0]["steps"][0]["block"] = {64, 0}; },
       "manifest: programs[0].steps[0].block[1]: expected an integer in 1..1024"},
      {"block threads", [](Json &j) { j["programs"][0]["steps"][0]["block"] = {64, 32}; },
       "manifest: programs[0].steps[0].block: more than 1024 threads per block"},
      {"cuda variants", [](Json &j) { j["target"] = Json::parse(R"({"kind": "cuda"})"); },
       "manifest: target.variants: a cuda target needs at least one kernel variant"},
      {"shared bytes", [](Json &j) { j["programs"][0]["steps"][0]["shared_bytes"] = -1; },
       "manifest: programs[0].steps[0].shared_bytes: must be >= 0, got -1"},
      {"bindings", [](Json &j) { j["programs"][0]["steps"][0]["bindings"][1] = 9; },
       "manifest: programs[0].steps[0].bindings[1]: buffer 9 does not exist"},
      {"version", [](Json &j) { j["format_version"] = 2; },
       "manifest: format_version: unsupported version 2"},
      {"no programs", [](Json &j) { j.erase("programs"); }, "manifest: missing field 'programs'"},
      {"target", [](Json &j) { j["target"]["kind"] = "tpu"; }, "target.kind: unknown target 'tpu'"},
      {"feature type", [](Json &j) { j["target"]["cpu_features"][0] = 3; },
       "target.cpu_features[0]: expected a string"},
      {"dtype", [](Json &j) { j["weights"][0]["dtype"] = "f64"; },
       "weights[0].dtype: unknown dtype 'f64'"},
      {"layout", [](Json &j) { j["weights"][0]["layout"] = "col_major"; },
       "weights[0].layout: unknown layout 'col_major'"},
      {"weight size", [](Json &j) { j["weights"][0]["size"] = 100; },
       "weights[0].size: 100 bytes, but the shape and dtype need 16384"},
      {"block layout K", [](Json &j) {
         j["weights"][0]["dtype"] = "u8";
         j["weights"][0]["layout"] = "q4_k_n16";
       }, "weights[0].layout: q4_k_n16 holds a u8 [N, K] weight with K a multiple of 256"},
      {"block layout dtype", [](Json &j) { j["weights"][0]["layout"] = "q8_0_n16"; },
       "weights[0].layout: q8_0_n16 holds a u8 [N, K] weight with K a multiple of 32"},
      {"block layout size", [](Json &j) {
         j["weights"][0]["dtype"] = "u8";
         j["weights"][0]["layout"] = "q8_0_n16";
       }, "weights[0].size: 16384 bytes, but q8_0_n16 [64, 64] takes 4352"},
      {"weight offset", [](Json &j) { j["weights"][0]["offset"] = 32; },
       "weights[0].offset: 32 is not a multiple of 64"},
      {"negative", [](Json &j) { j["weights"][0]["offset"] = -64; },
       "weights[0].offset: must be >= 0, got -64"},
      {"duplicate weight", [](Json &j) { j["weights"].push_back(j["weights"][0]); },
       "weights[1].name: duplicate name 'w0'"},
      {"state symbol", [](Json &j) { j["states"][0]["shape"][0] = "T"; },
       "states[0].shape[0]: unknown symbol 'T' (known: num_pages)"},
      {"load symbol", [](Json &j) { j["load_symbols"]["num_pages"] = "many"; },
       "load_symbols.num_pages: expected an integer, got string"},
      {"unbound symbol", [](Json &j) { j["programs"][0]["symbols"].push_back("B"); },
       "programs[0].symbols[1]: symbol 'B' is not a dimension of any input"},
      {"symbol clash", [](Json &j) { j["programs"][0]["symbols"][0] = "num_pages"; },
       "programs[0].symbols[0]: symbol 'num_pages' is already a program or load symbol"},
      {"input dim expr", [](Json &j) {
         j["programs"][0]["inputs"][0]["shape"][1] = Json::parse(R"(["T", 2, "*"])");
       }, "programs[0].inputs[0].shape[1]: an input dimension must be an integer or a symbol"},
      {"output name", [](Json &j) { j["programs"][0]["outputs"][0]["name"] = "../y"; },
       "programs[0].outputs[0].name: must not contain '/'"},
      {"input buffer", [](Json &j) { j["programs"][0]["inputs"][0]["buffer"] = 1; },
       "programs[0].inputs[0].buffer: buffer 1 is not input buffer with index 0"},
      {"buffer kind", [](Json &j) { j["programs"][0]["buffers"][2]["kind"] = "scratch"; },
       "programs[0].buffers[2].kind: unknown buffer kind 'scratch'"},
      {"weight name", [](Json &j) { j["programs"][0]["buffers"][1]["weight"] = "w9"; },
       "programs[0].buffers[1].weight: weight 'w9' does not exist"},
      {"duplicate id", [](Json &j) { j["programs"][0]["buffers"][4]["id"] = 1; },
       "programs[0].buffers[4].id: duplicate buffer id 1"},
      {"live range", [](Json &j) { j["programs"][0]["buffers"][2]["last"] = 2; },
       "programs[0].buffers[2].last: live range [0, 2] is not within the program's 2 steps"},
      {"used outside range", [](Json &j) { j["programs"][0]["buffers"][2]["last"] = 0; },
       "programs[0].steps[1].src: transient buffer 2 is used at step 1 outside its live range"},
      {"transient size", [](Json &j) { j["programs"][0]["buffers"][2].erase("size"); },
       "programs[0].buffers[2]: missing field 'size'"},
      {"size symbol", [](Json &j) { j["programs"][0]["buffers"][2]["size"] = "S"; },
       "programs[0].buffers[2].size: unknown symbol 'S'"},
      {"bad rpn", [](Json &j) { j["programs"][0]["steps"][0]["workgroups"] = Json::parse("[1, \"+\"]"); },
       "programs[0].steps[0].workgroups: [1]: operator '+' needs two operands"},
      {"push", [](Json &j) { j["programs"][0]["steps"][0]["push"][0] = true; },
       "programs[0].steps[0].push[0]: expected an integer or a string, got boolean"},
      {"step kind", [](Json &j) { j["programs"][0]["steps"][1]["kind"] = "barrier"; },
       "programs[0].steps[1].kind: unknown step kind 'barrier'"},
      {"kernel", [](Json &j) { j["programs"][0]["steps"][0]["kernel"] = ""; },
       "programs[0].steps[0].kernel: must not be empty"},
      {"copy into input", [](Json &j) { j["programs"][0]["steps"][1]["dst"] = 0; },
       "programs[0].steps[1].dst: a copy cannot write input buffer 0"},
      {"duplicate program", [](Json &j) { j["programs"].push_back(j["programs"][0]); },
       "programs[1].name: duplicate name 'main'"},
  };
  for (const BadCase &c : cases) {
    std::string error = errorAfter(c.mutate);
    EXPECT_NE(error.find(c.error), std::string::npos)
        << c.what << ": got \"" << error << "\", expected \"" << c.error << "\"";
  }
}

// A block-format weight (BlockFormat.h): u8 bytes of whole 16-row panels, exactly.
TEST(Manifest, BlockLayoutsTakeTheirExactSize) {
  Json json = validManifest();
  json["weights"][0] = Json::parse(R"({"name": "w0", "dtype": "u8", "shape": [20, 64],
      "layout": "q4_1_n16", "offset": 0, "size": 1280})");  // 2 panels x 2 blocks x 320
  absl::StatusOr<Manifest> manifest = parseManifest(json.dump());
  ASSERT_TRUE(manifest.ok()) << manifest.status();
  EXPECT_EQ(manifest->weights[0].layout, "q4_1_n16");
}

TEST(Manifest, NotJsonOrNotAnObject) {
  EXPECT_EQ(parseManifest("{\"format_version\": ").status().message(),
            "manifest: not valid JSON (byte 20)");
  EXPECT_EQ(parseManifest("[1]").status().message(), "manifest: expected a JSON object");
}

} // namespace
} // namespace mvc
