#include "runtime/artifact/ManifestWriter.h"

#include <functional>

#include "gtest/gtest.h"

namespace mvc {
namespace {

using Json = nlohmann::ordered_json;

Expr sym(const char *name) { return Expr::symbol(name); }
Expr num(int64_t value) { return Expr::constant(value); }
Expr mul(const Expr &a, const Expr &b) { return Expr::binary(Expr::Op::Mul, a, b); }

/// A gpu manifest with every field set: three kernel variants, weights of each layout,
/// states over a load symbol, a dynamic program with every buffer kind (ids that are not
/// positions), dispatches with push constants and launch sizes, a copy, and a static program.
Manifest everyField() {
  Manifest m;
  m.producer = "test";
  m.sourcePath = "/models/tiny";
  m.sourceKind = "hf";
  m.architecture = "Gemma3ForCausalLM";
  m.config = {{"hidden_size", 64}, {"layer_types", {"sliding", "full"}}, {"scale", 0.125}};
  m.languageModel = {
      {"architecture", "gemma3"}, {"program", "forward"}, {"eos_token_ids", {1, 106}}};
  m.target = {"cuda",
              "",
              {},
              {{"sm_80", "cubin", "kernels.cuda.sm_80"},
               {"compute_80", "ptx", "kernels.cuda.compute_80"},
               {"sm_80", "emu", "kernels.cuda-emu.sm_80"}}};
  m.weights = {{"embed", DType::BF16, {512, 64}, "row_major", 0, 65536},
               {"w.q#packed_n16", DType::F32, {64, 64}, "packed_n16", 65536, 16384},
               {"w.k#packed_n16_k2", DType::BF16, {32, 63}, "packed_n16_k2", 81920, 4096}};
  m.states = {{"kv.0.k", DType::F16, {sym("num_pages"), num(16), num(2), num(32)}},
              {"kv.0.v", DType::F32, {mul(sym("num_pages"), num(16)), num(64)}}};
  m.loadSymbols = {{"num_pages", 64}, {"max_images", 2}};

  ProgramInfo forward;
  forward.name = "forward";
  forward.symbols = {"T", "B"};
  forward.inputs = {{"tokens", DType::I32, {sym("T")}, 0},
                    {"block_table", DType::I32, {sym("B"), num(4)}, 1}};
  forward.outputs = {{"logits", DType::F32, {sym("T"), num(512)}, 5},
                     {"bytes", DType::U8, {mul(sym("T"), num(2))}, 6}};
  forward.buffers = {
      {10, BufferKind::Input, 0},
      {11, BufferKind::Input, 1},
      {3, BufferKind::Weight, 0},
      {4, BufferKind::State, 1},
      {7, BufferKind::Transient, -1, mul(sym("T"), num(256)), 0, 2},
      {8, BufferKind::Output, 0, mul(sym("T"), num(2048))},
      {9, BufferKind::Output, 1, std::nullopt},
  };
  StepInfo rows;
  rows.kernel = "forward_d0_row";
  rows.workgroups = Expr::binary(Expr::Op::CeilDiv, sym("T"), num(4));
  rows.bindings = {0, 2, 3, 4};
  rows.push = {sym("T"), num(-1), Expr::binary(Expr::Op::Max, sym("B"), num(1))};
  rows.block = {128, 1, 1};
  rows.sharedBytes = 4096;
  StepInfo head;
  head.kernel = "forward_d1_matmul";
  head.workgroups = Expr::binary(Expr::Op::FloorDiv, sym("T"), num(16));
  head.bindings = {4, 1, 5};
  head.block = {32, 4, 2};
  StepInfo copy;
  copy.kind = StepKind::Copy;
  copy.src = 4;
  copy.dst = 6;
  copy.srcOffset = num(64);
  copy.size = mul(sym("T"), num(2));
  forward.steps = {rows, head, copy};

  ProgramInfo vision;
  vision.name = "vision";
  vision.inputs = {{"pixel_values", DType::F32, {num(1), num(3), num(8), num(8)}, 0}};
  vision.outputs = {{"image_features", DType::F32, {num(4), num(64)}, 1}};
  vision.buffers = {
      {0, BufferKind::Input, 0}, {1, BufferKind::Output, 0, num(1024)}, {2, BufferKind::Weight, 2}};
  StepInfo project;
  project.kernel = "vision_d0_matmul";
  project.workgroups = num(4);
  project.bindings = {0, 2, 1};
  project.block = {64, 1, 1};
  vision.steps = {project};
  m.programs = {forward, vision};
  return m;
}

TEST(ManifestWriter, RoundTripsEveryField) {
  Manifest manifest = everyField();
  std::string text = writeManifest(manifest);
  absl::StatusOr<Manifest> parsed = parseManifest(text);
  ASSERT_TRUE(parsed.ok()) << parsed.status() << "\n" << text;
  EXPECT_EQ(parsed->programs, manifest.programs);
  EXPECT_EQ(parsed->target, manifest.target);
  EXPECT_TRUE(*parsed == manifest);
  EXPECT_EQ(writeManifest(*parsed), text);
}

TEST(ManifestWriter, EqualitySeesEachChange) {
  Manifest base = everyField();
  std::vector<std::function<void(Manifest &)>> changes = {
      [](Manifest &m) { m.languageModel = nullptr; },
      [](Manifest &m) { m.target.variants[1].format = "cubin"; },
      [](Manifest &m) { m.weights[2].offset += 64; },
      [](Manifest &m) { m.states[0].shape[1] = num(8); },
      [](Manifest &m) { m.programs[0].buffers[6].size = num(0); },
      [](Manifest &m) { m.programs[0].steps[0].push.pop_back(); },
      [](Manifest &m) { m.programs[0].steps[1].block[2] = 1; },
      [](Manifest &m) { m.programs[0].steps[2].srcOffset = num(0); },
  };
  for (size_t i = 0; i < changes.size(); ++i) {
    Manifest changed = base;
    changes[i](changed);
    EXPECT_FALSE(changed == base) << "change " << i;
  }
}

/// The manifest as mvc-compile has always written it (key order, one space per level), for
/// a cpu target: the writer reproduces it byte for byte. Launch sizes are gpu-only.
TEST(ManifestWriter, WritesTheCompilersKeyOrder) {
  Json json = Json::parse(R"({
    "format_version": 1, "producer": "mvc-compile 0.1",
    "source": {"path": "x.mlir", "kind": "mlir"}, "architecture": "graph", "config": {},
    "target": {"kind": "cpu", "cpu": "x86-64-v4", "cpu_features": []},
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
        {"kind": "dispatch", "kernel": "main_d0_matmul", "workgroups": ["T", 4, "ceildiv"],
         "bindings": [0, 1, 2, 4], "push": []},
        {"kind": "copy", "src": 2, "src_offset": 0, "dst": 3, "dst_offset": 0,
         "size": ["T", 256, "*"]}
      ]
    }]
  })");
  absl::StatusOr<Manifest> parsed = parseManifest(json.dump());
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(writeManifest(*parsed), json.dump(1));

  json["programs"][0]["steps"][0]["push"] = Json::array({"T"});
  json["language_model"] = {{"program", "main"}};
  parsed = parseManifest(json.dump());
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(writeManifest(*parsed), json.dump(1));
}

} // namespace
} // namespace mvc
