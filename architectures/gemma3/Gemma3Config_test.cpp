#include "architectures/gemma3/Gemma3Config.h"

#include <cmath>
#include <gtest/gtest.h>

namespace mvc {
namespace {

OrderedJson base() {
  return OrderedJson::parse(R"({
    "architectures": ["Gemma3ForCausalLM"], "vocab_size": 512, "hidden_size": 64,
    "intermediate_size": 128, "num_hidden_layers": 4, "num_attention_heads": 4,
    "num_key_value_heads": 2, "head_dim": 32, "query_pre_attn_scalar": 24,
    "sliding_window": 8, "final_logit_softcapping": 30.0, "eos_token_id": [1, 106]})");
}

TEST(Gemma3Config, V5FormReadsLayerTypesAndRopePerType) {
  OrderedJson c = base();
  c["layer_types"] = {"sliding_attention", "full_attention", "sliding_attention", "full_attention"};
  c["rope_parameters"] = OrderedJson::parse(R"({
    "sliding_attention": {"rope_type": "default", "rope_theta": 10000.0},
    "full_attention": {"rope_type": "linear", "rope_theta": 1000000.0, "factor": 8.0}})");
  auto cfg = parseGemma3TextConfig(c, OrderedJson::object(), "config.json");
  ASSERT_TRUE(cfg.ok()) << cfg.status();
  EXPECT_EQ(cfg->slidingLayers, (std::vector<bool>{true, false, true, false}));
  EXPECT_EQ(cfg->ropeGlobal.type, "linear");
  EXPECT_EQ(cfg->ropeGlobal.factor, 8.0);
  EXPECT_EQ(cfg->ropeLocal.theta, 10000.0);
  EXPECT_EQ(cfg->headDim, 32);
  ASSERT_TRUE(cfg->finalLogitSoftcap);
  EXPECT_EQ(*cfg->finalLogitSoftcap, 30.0);
}

TEST(Gemma3Config, V4FormDerivesTheSameConfig) {
  OrderedJson c = base();
  c["sliding_window_pattern"] = 2;
  c["rope_theta"] = 1000000.0;
  c["rope_local_base_freq"] = 10000.0;
  c["rope_scaling"] = {{"rope_type", "linear"}, {"factor", 8.0}};
  auto cfg = parseGemma3TextConfig(c, OrderedJson::parse(R"({"eos_token_id": [1, 107]})"),
                                   "config.json");
  ASSERT_TRUE(cfg.ok()) << cfg.status();
  EXPECT_EQ(cfg->slidingLayers, (std::vector<bool>{true, false, true, false}));
  EXPECT_EQ(cfg->ropeGlobal.type, "linear");
  EXPECT_EQ(cfg->ropeGlobal.theta, 1e6);
  EXPECT_EQ(cfg->ropeLocal.theta, 1e4);
  EXPECT_EQ(cfg->eosTokenIds, (std::vector<int64_t>{1, 106, 107}));
}

TEST(Gemma3Config, NestedTextConfigOfTheMultimodalModel) {
  OrderedJson c = {{"architectures", {"Gemma3ForConditionalGeneration"}}, {"text_config", base()}};
  auto cfg = parseGemma3TextConfig(c, OrderedJson::object(), "config.json");
  ASSERT_TRUE(cfg.ok()) << cfg.status();
  EXPECT_EQ(cfg->hiddenSize, 64);
  // Default pattern 6: layers 0-3 are all sliding.
  EXPECT_EQ(cfg->slidingLayers, (std::vector<bool>{true, true, true, true}));
}

TEST(Gemma3Config, ErrorsNameTheField) {
  OrderedJson c = base();
  c["head_dim"] = "wide";
  auto cfg = parseGemma3TextConfig(c, OrderedJson::object(), "m/config.json");
  ASSERT_FALSE(cfg.ok());
  EXPECT_EQ(cfg.status().message(), "m/config.json.head_dim: expected an integer, got \"wide\"");

  c = base();
  c["layer_types"] = {"sliding_attention"};
  cfg = parseGemma3TextConfig(c, OrderedJson::object(), "config.json");
  ASSERT_FALSE(cfg.ok());
  EXPECT_NE(cfg.status().message().find("layer_types: expected a list of num_hidden_layers"), std::string::npos);

  c = base();
  c["rope_parameters"] = {{"full_attention", {{"rope_type", "yarn"}}}};
  cfg = parseGemma3TextConfig(c, OrderedJson::object(), "config.json");
  ASSERT_FALSE(cfg.ok());
  EXPECT_NE(cfg.status().message().find("unsupported rope type 'yarn'"), std::string::npos);

  c = base();
  c["num_key_value_heads"] = 3;
  EXPECT_FALSE(parseGemma3TextConfig(c, OrderedJson::object(), "config.json").ok());
  c = base();
  c["eos_token_id"] = 100000;
  EXPECT_FALSE(parseGemma3TextConfig(c, OrderedJson::object(), "config.json").ok());
}

// Values that used to reach arithmetic (a division by num_key_value_heads: SIGFPE) or to
// compile into a model that can only produce NaN (issue 21) are refused, naming the field.
TEST(Gemma3Config, RefusesValuesThatCannotMakeAModel) {
  struct Case {
    const char *key;
    OrderedJson value;
    const char *message;
  };
  const Case cases[] = {
      {"num_key_value_heads", 0,
       "config.json.num_key_value_heads: expected a positive integer of at most 16777216, got 0"},
      {"hidden_size", 1000000000,
       "config.json.hidden_size: expected a positive integer of at most 16777216, got 1000000000"},
      {"max_position_embeddings", int64_t(1) << 40,
       "config.json.max_position_embeddings: expected a positive integer of at most 16777216, "
       "got 1099511627776"},
      {"rms_norm_eps", -1.0, "config.json.rms_norm_eps: expected a positive number, got -1"},
      {"query_pre_attn_scalar", 0, "config.json.query_pre_attn_scalar: expected a positive number, got 0"},
      {"rope_local_base_freq", -1.0, "config.json.rope_local_base_freq: expected a positive number, got -1"},
  };
  for (const Case &c : cases) {
    OrderedJson config = base();
    config[c.key] = c.value;
    auto cfg = parseGemma3TextConfig(config, OrderedJson::object(), "config.json");
    ASSERT_FALSE(cfg.ok()) << c.key;
    EXPECT_EQ(cfg.status().message(), c.message);
  }
}

TEST(Rope, DefaultAndLinearTables) {
  RopeParams p;
  p.theta = 10000.0;
  std::vector<float> inv = ropeInvFreq(p, 8);
  ASSERT_EQ(inv.size(), 4u);
  EXPECT_FLOAT_EQ(inv[0], 1.0f);
  EXPECT_FLOAT_EQ(inv[1], 0.1f);
  EXPECT_FLOAT_EQ(inv[2], 0.01f);
  p.type = "linear";
  p.factor = 8.0;
  EXPECT_FLOAT_EQ(ropeInvFreq(p, 8)[1], 0.0125f);
  p.type = "proportional";
  p.factor = 1.0;
  p.partialRotaryFactor = 0.25;
  std::vector<float> prop = ropeInvFreq(p, 16);  // int(0.25 * 16) // 2 = 2 rotated pairs of 8
  ASSERT_EQ(prop.size(), 8u);
  EXPECT_FLOAT_EQ(prop[0], 1.0f);
  EXPECT_FLOAT_EQ(prop[1], 1.0f / std::pow(10000.0f, 2.0f / 16.0f));
  EXPECT_FLOAT_EQ(prop[2], 0.0f);
}

} // namespace
} // namespace mvc
