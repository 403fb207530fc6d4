// Gemma 4 configs against what transformers 5.23.0 builds from them
// (tests/fixtures/gen_gemma4_configs.py): every layer's attention type, head_dim, kv heads,
// K=V, KV sharing and MLP width as the modeling code's projection shapes say, and the
// model-wide values.
#include "architectures/gemma4/Gemma4Config.h"

#include <gtest/gtest.h>

namespace mvc {
namespace {

std::string fixture(const std::string &name) {
  return std::string(MVC_FIXTURES_DIR) + "/gemma4_configs/" + name;
}

class Gemma4ConfigCase : public ::testing::TestWithParam<const char *> {};

TEST_P(Gemma4ConfigCase, LayersAsTransformersBuildsThem) {
  const std::string name = GetParam();
  absl::StatusOr<OrderedJson> config = readJsonFile(fixture(name + ".json"));
  absl::StatusOr<OrderedJson> expected = readJsonFile(fixture(name + ".expected.json"));
  ASSERT_TRUE(config.ok() && expected.ok());
  absl::StatusOr<Gemma4Config> c = parseGemma4Config(*config, OrderedJson::object(), name + ".json");
  ASSERT_TRUE(c.ok()) << c.status();
  const Gemma4TextConfig &t = c->text;
  const OrderedJson &e = *expected;
  EXPECT_EQ(t.numLayers, e["num_layers"].get<int64_t>());
  EXPECT_EQ(t.pleWidth, e["ple_width"].get<int64_t>());
  EXPECT_EQ(t.slidingWindow, e["sliding_window"].get<int64_t>());
  EXPECT_EQ(t.numExperts, e["num_experts"].get<int64_t>());
  EXPECT_EQ(t.topKExperts, e["top_k_experts"].get<int64_t>());
  EXPECT_EQ(c->tieWordEmbeddings, e["tie_word_embeddings"].get<bool>());
  if (e["final_logit_softcapping"].is_null())
    EXPECT_FALSE(t.finalLogitSoftcapping.has_value());
  else
    EXPECT_EQ(t.finalLogitSoftcapping, e["final_logit_softcapping"].get<double>());
  for (const auto &[type, rope] : {std::pair<const char *, const Gemma4Rope *>{"sliding_attention", &t.slidingRope},
                                   {"full_attention", &t.fullRope}}) {
    const OrderedJson &want = e["rope_parameters"][type];
    EXPECT_EQ(rope->type, want["rope_type"].get<std::string>()) << type;
    EXPECT_EQ(rope->theta, want["rope_theta"].get<double>()) << type;
    EXPECT_EQ(rope->partialRotaryFactor, want.value("partial_rotary_factor", 1.0)) << type;
  }
  ASSERT_EQ(t.layers.size(), e["layers"].size());
  for (size_t i = 0; i < t.layers.size(); ++i) {
    SCOPED_TRACE("layer " + std::to_string(i));
    const Gemma4Layer &l = t.layers[i];
    const OrderedJson &w = e["layers"][i];
    EXPECT_EQ(l.full, w["type"] == "full_attention");
    EXPECT_EQ(l.headDim, w["head_dim"].get<int64_t>());
    const bool reuse = l.sharing == Gemma4Layer::KvSharing::kReuse;
    EXPECT_EQ(!reuse, w["has_k_proj"].get<bool>());
    EXPECT_EQ(!reuse && !l.kEqV, w["has_v_proj"].get<bool>());
    if (!reuse) EXPECT_EQ(l.kvHeads, w["kv_heads"].get<int64_t>());
    const char *mode = l.sharing == Gemma4Layer::KvSharing::kStore ? "store" : reuse ? "reuse" : nullptr;
    if (mode)
      EXPECT_EQ(w["kv_sharing"], mode);
    else
      EXPECT_TRUE(w["kv_sharing"].is_null());
    if (reuse) {
      // The source: the last earlier layer of the same type, which stores.
      ASSERT_GE(l.kvSource, 0);
      EXPECT_EQ(t.layers[l.kvSource].full, l.full);
      EXPECT_EQ(t.layers[l.kvSource].sharing, Gemma4Layer::KvSharing::kStore);
    }
    EXPECT_EQ(l.mlpWidth, w["mlp_width"].get<int64_t>());
    EXPECT_EQ(t.enableMoe, w["moe"].get<bool>());
  }
}

INSTANTIATE_TEST_SUITE_P(Fixtures, Gemma4ConfigCase,
                         ::testing::Values("e2b_like", "flat_global", "moe_default_pattern",
                                           "conditional", "padded_keys", "empty_overrides"));

TEST(Gemma4Config, RefusesWhatTransformersRefuses) {
  absl::StatusOr<OrderedJson> config = readJsonFile(fixture("bad_sharing.json"));
  ASSERT_TRUE(config.ok());
  absl::StatusOr<Gemma4Config> c = parseGemma4Config(*config, OrderedJson::object(), "bad_sharing.json");
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.status().message().find("num_kv_shared_layers"), std::string::npos) << c.status();
  // And what mvc cannot honour is named, not ignored.
  OrderedJson odd = *readJsonFile(fixture("e2b_like.json"));
  odd["per_layer_config"]["1"]["sliding_window"] = 3;
  c = parseGemma4Config(odd, OrderedJson::object(), "odd.json");
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.status().message().find("sliding_window"), std::string::npos) << c.status();
  odd = *readJsonFile(fixture("e2b_like.json"));
  odd["per_layer_config"]["9"] = {{"head_dim", 4}};
  EXPECT_FALSE(parseGemma4Config(odd, OrderedJson::object(), "odd.json").ok());
  // A full layer the table leaves out keeps the sliding shape: transformers refuses that
  // (a type's layers must agree), and so does mvc.
  odd = *readJsonFile(fixture("e2b_like.json"));
  odd["per_layer_config"].erase("3");
  c = parseGemma4Config(odd, OrderedJson::object(), "odd.json");
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.status().message().find("homogeneous"), std::string::npos) << c.status();
  odd = *readJsonFile(fixture("e2b_like.json"));
  odd["rope_parameters"]["full_attention"]["rope_type"] = "yarn";
  EXPECT_FALSE(parseGemma4Config(odd, OrderedJson::object(), "odd.json").ok());
}

TEST(Gemma4Config, ConditionalTopLevel) {
  absl::StatusOr<OrderedJson> config = readJsonFile(fixture("conditional.json"));
  ASSERT_TRUE(config.ok());
  absl::StatusOr<Gemma4Config> c = parseGemma4Config(*config, OrderedJson::object(), "conditional.json");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_TRUE(c->conditional);
  EXPECT_TRUE(c->hasVision);
  EXPECT_FALSE(c->hasAudio);
  EXPECT_EQ(c->imageTokenId, 258880);
}

} // namespace
} // namespace mvc
