#include "architectures/gemma3/Gemma3Gguf.h"

#include <cstring>
#include <fstream>

#include <gtest/gtest.h>

#include "architectures/gemma3/Gemma3Config.h"
#include "runtime/weights/SafetensorsReader.h"

namespace mvc {
namespace {

// gen_gguf_quant.py wrote the tiny GGUF the way llama.cpp's converter writes Gemma 3, and
// what tests/fixtures/gguf_to_hf.py (the parity reference) makes of it.
const std::string kDir = std::string(MVC_FIXTURES_DIR) + "/gguf_tiny/";

TEST(Gemma3Gguf, ConfigIsWhatTheReferenceScriptDerives) {
  auto reader = GgufReader::open(kDir + "gemma3-tiny.gguf");
  ASSERT_TRUE(reader.ok()) << reader.status();
  auto imported = Gemma3GgufImport::fromGguf(**reader);
  ASSERT_TRUE(imported.ok()) << imported.status();
  auto want = readJsonFile(kDir + "config.json");
  ASSERT_TRUE(want.ok()) << want.status();
  EXPECT_EQ(imported->config(), *want) << imported->config().dump(1);
  auto wantGeneration = readJsonFile(kDir + "generation_config.json");
  ASSERT_TRUE(wantGeneration.ok());
  EXPECT_EQ(imported->generationConfig(), *wantGeneration);

  auto config = parseGemma3TextConfig(imported->config(), imported->generationConfig(),
                                      "tiny.gguf");
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->hiddenSize, 64);
  EXPECT_EQ(config->headDim, 32);
  EXPECT_EQ(config->numKvHeads, 1);
  EXPECT_EQ(config->queryPreAttnScalar, 32);
  EXPECT_EQ(config->rmsNormEps, 1e-6);
  EXPECT_EQ(config->slidingLayers, (std::vector<bool>{true, true}));
  EXPECT_EQ(config->ropeLocal.theta, 10000.0);
  EXPECT_EQ(config->ropeGlobal.theta, 1e6);
  EXPECT_EQ(config->eosTokenIds, (std::vector<int64_t>{1, 5}));
  EXPECT_TRUE(config->tieWordEmbeddings);
}

TEST(Gemma3Gguf, TensorsAreTheReferenceCheckpointBitForBit) {
  auto reader = GgufReader::open(kDir + "gemma3-tiny.gguf");
  ASSERT_TRUE(reader.ok()) << reader.status();
  auto imported = Gemma3GgufImport::fromGguf(**reader);
  ASSERT_TRUE(imported.ok()) << imported.status();
  auto expected = SafetensorsReader::open(kDir + "expected.safetensors");
  ASSERT_TRUE(expected.ok()) << expected.status();

  std::vector<std::string> names;
  for (const auto &[hf, gguf] : imported->hfToGguf()) names.push_back(hf);
  EXPECT_EQ(names, (*expected)->tensorNames());
  EXPECT_EQ(imported->hfToGguf().at("model.layers.1.pre_feedforward_layernorm.weight"),
            "blk.1.ffn_norm.weight");
  for (const std::string &name : (*expected)->tensorNames()) {
    auto want = (*expected)->readAsF32(name);
    ASSERT_TRUE(want.ok()) << want.status();
    EXPECT_EQ(*imported->shape(name), (*(*expected)->tensor(name))->shape) << name;
    auto got = imported->readAsF32(name);
    ASSERT_TRUE(got.ok()) << got.status();
    ASSERT_EQ(got->size(), want->size()) << name;
    EXPECT_EQ(std::memcmp(got->data(), want->data(), want->size() * 4), 0) << name;
  }
  // The norms are read back as HF holds them: w, not the stored 1 + w.
  auto stored = (*reader)->readAsF32("blk.0.attn_q_norm.weight");
  auto norm = imported->readAsF32("model.layers.0.self_attn.q_norm.weight");
  ASSERT_TRUE(stored.ok() && norm.ok());
  EXPECT_EQ((*norm)[0], (*stored)[0] - 1.0f);
  EXPECT_EQ(imported->readAsF32("lm_head.weight").status().code(), absl::StatusCode::kNotFound);
}

TEST(Gemma3Gguf, HfNames) {
  EXPECT_EQ(gemma3HfName("blk.17.attn_output.weight"), "model.layers.17.self_attn.o_proj.weight");
  EXPECT_EQ(gemma3HfName("blk.0.post_ffw_norm.weight"),
            "model.layers.0.post_feedforward_layernorm.weight");
  EXPECT_EQ(gemma3HfName("output.weight"), "lm_head.weight");
  EXPECT_EQ(gemma3HfName("blk.03.attn_q.weight"), "");
  EXPECT_EQ(gemma3HfName("blk.x.attn_q.weight"), "");
  EXPECT_EQ(gemma3HfName("blk.1.attn_q.bias"), "");
  EXPECT_EQ(gemma3HfName("rope_freqs.weight"), "");
}

/// A GGUF with the given string metadata and one F32-sized tensor info per (name, type).
std::string writeGguf(const std::string &name,
                      const std::vector<std::pair<std::string, std::string>> &strings,
                      const std::vector<std::pair<std::string, uint32_t>> &tensors) {
  std::string s;
  auto raw = [&](const void *p, size_t n) { s.append(static_cast<const char *>(p), n); };
  auto u32 = [&](uint32_t v) { raw(&v, 4); };
  auto u64 = [&](uint64_t v) { raw(&v, 8); };
  auto str = [&](const std::string &v) { u64(v.size()); s += v; };
  raw("GGUF", 4);
  u32(3);
  u64(tensors.size());
  u64(strings.size());
  for (const auto &[key, value] : strings) {
    str(key);
    u32(8);
    str(value);
  }
  for (size_t i = 0; i < tensors.size(); ++i) {
    str(tensors[i].first);
    u32(1);
    u64(256);
    u32(tensors[i].second);
    u64(i * 1024);
  }
  s.resize((s.size() + 31) / 32 * 32 + tensors.size() * 1024);
  std::string path = testing::TempDir() + "/" + name;
  std::ofstream(path, std::ios::binary) << s;
  return path;
}

std::string importError(const std::string &path) {
  auto reader = GgufReader::open(path);
  EXPECT_TRUE(reader.ok()) << reader.status();
  if (!reader.ok()) return "";
  auto imported = Gemma3GgufImport::fromGguf(**reader);
  return imported.ok() ? "" : std::string(imported.status().message());
}

TEST(Gemma3Gguf, BadInputNamesTheProblem) {
  std::string llama = writeGguf("llama.gguf", {{"general.architecture", "llama"}}, {});
  EXPECT_EQ(importError(llama),
            llama + ": unsupported GGUF architecture 'llama' (mvc imports gemma3 here)");
  std::string iq = writeGguf("iq.gguf", {{"general.architecture", "gemma3"}},
                             {{"blk.3.ffn_down.weight", 17}});
  EXPECT_EQ(importError(iq), iq + ": unsupported GGUF tensor type IQ2_XS in 'blk.3.ffn_down.weight'");
  std::string extra = writeGguf("extra.gguf", {{"general.architecture", "gemma3"}},
                                {{"rope_freqs.weight", 0}});
  EXPECT_EQ(importError(extra), extra + ": tensor 'rope_freqs.weight' has no Gemma 3 counterpart");
  std::string bare = writeGguf("bare.gguf", {{"general.architecture", "gemma3"}},
                               {{"token_embd.weight", 0}});
  EXPECT_EQ(importError(bare), bare + ": no metadata 'gemma3.embedding_length'");
}

} // namespace
} // namespace mvc
