// Qwen3-VL configs against what transformers 5.23.0 reads from the same files
// (tests/fixtures/gen_qwen3vl_configs.py), and the refusals.
#include "architectures/qwen3vl/Qwen3VLConfig.h"

#include <algorithm>

#include <fstream>
#include <sstream>

#include "gtest/gtest.h"

namespace mvc {
namespace {

OrderedJson load(const std::string &name) {
  std::ifstream in(std::string(MVC_QWEN3VL_CONFIGS) + "/" + name);
  std::stringstream text;
  text << in.rdbuf();
  return OrderedJson::parse(text.str());
}

TEST(Qwen3VLConfig, ReadsWhatTransformersReads) {
  for (const char *name : {"moe_saved", "dense_saved", "moe_v4"}) {
    SCOPED_TRACE(name);
    const OrderedJson want = load(std::string(name) + ".expected.json");
    absl::StatusOr<Qwen3VLConfig> got =
        parseQwen3VLConfig(load(std::string(name) + ".json"), OrderedJson::object(), name);
    ASSERT_TRUE(got.ok()) << got.status();
    EXPECT_EQ(got->modelType, want["model_type"].get<std::string>());
    EXPECT_EQ(got->text.headDim, want["head_dim"].get<int64_t>());
    EXPECT_EQ(got->text.numKvHeads, want["num_kv_heads"].get<int64_t>());
    EXPECT_EQ(got->text.ropeTheta, want["rope_theta"].get<double>());
    EXPECT_EQ(std::vector<int64_t>(got->text.mropeSection.begin(), got->text.mropeSection.end()),
              want["mrope_section"].get<std::vector<int64_t>>());
    EXPECT_EQ(got->text.numExperts, want["num_experts"].get<int64_t>());
    EXPECT_EQ(got->text.expertsPerToken, want["experts_per_token"].get<int64_t>());
    std::vector<int64_t> moeLayers;
    for (int64_t layer = 0; layer < got->text.numLayers; ++layer)
      if (got->text.isMoeLayer(layer))
        moeLayers.push_back(layer);
    EXPECT_EQ(moeLayers, want["moe_layers"].get<std::vector<int64_t>>());
    EXPECT_EQ(got->tieWordEmbeddings, want["tie_word_embeddings"].get<bool>());
    EXPECT_EQ(got->vision.depth, want["vision_depth"].get<int64_t>());
    EXPECT_EQ(got->vision.patchSize, want["patch_size"].get<int64_t>());
    EXPECT_EQ(got->vision.temporalPatchSize, want["temporal_patch_size"].get<int64_t>());
    EXPECT_EQ(got->vision.deepstackIndexes, want["deepstack"].get<std::vector<int64_t>>());
    EXPECT_EQ(got->imageTokenId, want["image_token_id"].get<int64_t>());
    EXPECT_EQ(got->vision.ropeTheta, want["vision_rope_theta"].get<double>());
  }
}

TEST(Qwen3VLConfig, RefusesWhatCannotRun) {
  auto error = [](const std::function<void(OrderedJson &)> &edit) {
    OrderedJson config = load("moe_v4.json");
    edit(config);
    absl::StatusOr<Qwen3VLConfig> got = parseQwen3VLConfig(config, OrderedJson::object(), "c");
    return got.ok() ? std::string() : std::string(got.status().message());
  };
  EXPECT_EQ(error([](OrderedJson &) {}), "");
  EXPECT_NE(error([](OrderedJson &c) { c["text_config"]["num_local_experts"] = 4; })
                .find("num_experts: disagrees with num_local_experts"),
            std::string::npos);
  EXPECT_NE(error([](OrderedJson &c) { c["text_config"]["mlp_only_layers"] = {9}; })
                .find("mlp_only_layers: layer 9 outside the model"),
            std::string::npos);
  EXPECT_NE(error([](OrderedJson &c) { c["text_config"]["rope_scaling"]["mrope_section"] = {8, 4}; })
                .find("c.text_config.rope_scaling.mrope_section: expected 3"),
            std::string::npos);
  EXPECT_NE(error([](OrderedJson &c) { c["vision_config"]["deepstack_visual_indexes"] = {0, 3}; })
                .find("layer 3 outside the tower"),
            std::string::npos);
  EXPECT_NE(error([](OrderedJson &c) { c["vision_config"]["patch_size"] = {16, 14}; })
                .find("patch_size: expected a positive size (or a list of equal ones)"),
            std::string::npos);
  EXPECT_NE(error([](OrderedJson &c) { c["vision_config"]["out_hidden_size"] = 32; })
                .find("out_hidden_size: must equal text_config.hidden_size (64)"),
            std::string::npos);
  EXPECT_NE(error([](OrderedJson &c) { c["image_token_id"] = 300; })
                .find("image_token_id: id 300 outside the vocabulary"),
            std::string::npos);
  EXPECT_NE(error([](OrderedJson &c) { c["model_type"] = "qwen2_vl"; }).find("expected qwen3_vl"),
            std::string::npos);
  EXPECT_NE(error([](OrderedJson &c) { c["vision_config"]["num_position_embeddings"] = 60; })
                .find("must be a square"),
            std::string::npos);
}

} // namespace
} // namespace mvc

namespace mvc {
namespace {

// transformers' recomposition: height columns slice(1, 3·s[1], 3), width slice(2, 3·s[2], 3),
// the rest time. head_dim 24 (12 columns), sections [4, 5, 3]: height 1, 4, 7, 10 (13 is
// past the end), width 2, 5, 8 (11 is past 3·3).
TEST(Qwen3VLConfig, MropeAxesAsTheRotaryEmbeddingRecomposesThem) {
  Qwen3VLTextConfig c;
  c.headDim = 24;
  c.mropeSection = {4, 5, 3};
  EXPECT_EQ(c.mropeAxes(), (std::vector<int32_t>{0, 1, 2, 0, 1, 2, 0, 1, 2, 0, 1, 0}));
  c.headDim = 128;
  c.mropeSection = {24, 20, 20};
  std::vector<int32_t> axes = c.mropeAxes();
  ASSERT_EQ(axes.size(), 64u);
  EXPECT_EQ(std::count(axes.begin(), axes.end(), 1), 20);
  EXPECT_EQ(std::count(axes.begin(), axes.end(), 2), 20);
}

} // namespace
} // namespace mvc
