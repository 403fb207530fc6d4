#include "architectures/idefics3/Idefics3Config.h"

#include <fstream>
#include <gtest/gtest.h>

namespace mvc {
namespace {

OrderedJson readFixture(const std::string &name) {
  std::ifstream in(std::string(MVC_FIXTURES_DIR) + "/" + name + "/config.json");
  return OrderedJson::parse(in);
}

TEST(Idefics3Config, TinyFixturesOfBothModelTypes) {
  for (auto [name, type, scale, tokens] : {std::tuple{"tiny-idefics3", "idefics3", 2, 16},
                                           std::tuple{"tiny-smolvlm", "smolvlm", 4, 4}}) {
    auto c = parseIdefics3Config(readFixture(name), OrderedJson::object(), "config.json");
    ASSERT_TRUE(c.ok()) << name << ": " << c.status();
    EXPECT_EQ(c->modelType, type);
    EXPECT_EQ(c->scaleFactor, scale);
    EXPECT_EQ(c->tokensPerFrame(), tokens);
    EXPECT_EQ(c->imageTokenId, 275);
    EXPECT_EQ(c->vision.hiddenSize, 32);
    EXPECT_EQ(c->vision.patchesPerSide(), 8);
    EXPECT_EQ(c->text.vocabSize, 320);
    EXPECT_EQ(c->text.headDim, 24);
    EXPECT_EQ(c->text.numKvHeads, 2);
    EXPECT_FALSE(c->text.tieWordEmbeddings);
    EXPECT_EQ(c->text.rmsNormEps, 1e-5);
  }
}

// Absent keys take Idefics3's defaults: its vision config's sizes and a Llama text model
// whose only changed default is rms_norm_eps = 1e-5. (The class defaults alone, 224 / 32 =
// 7 patches per side, do not divide by scale_factor 2: every checkpoint sets image_size and
// patch_size, here Idefics3-8B's.)
TEST(Idefics3Config, DefaultsAreIdefics3s) {
  OrderedJson config = OrderedJson::parse(R"({"model_type": "idefics3",
      "vision_config": {"image_size": 364, "patch_size": 14}, "text_config": {"vocab_size": 128259}})");
  auto c = parseIdefics3Config(config, OrderedJson::object(), "config.json");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->vision.hiddenSize, 1152);
  EXPECT_EQ(c->vision.numHeads, 16);
  EXPECT_EQ(c->vision.intermediateSize, 3072);
  EXPECT_EQ(c->vision.numLayers, 12);
  EXPECT_EQ(c->scaleFactor, 2);
  EXPECT_EQ(c->tokensPerFrame(), 169); // (364 / 14 / 2)²
  EXPECT_EQ(c->imageTokenId, 128257);
  EXPECT_EQ(c->text.rmsNormEps, 1e-5);
  EXPECT_EQ(c->text.hiddenSize, 4096);
  EXPECT_FALSE(c->text.tieWordEmbeddings);
}

TEST(Idefics3Config, ErrorsNameTheField) {
  auto error = [](const char *edit) {
    OrderedJson config = readFixture("tiny-idefics3");
    config.merge_patch(OrderedJson::parse(edit));
    auto c = parseIdefics3Config(config, OrderedJson::object(), "config.json");
    EXPECT_FALSE(c.ok()) << edit;
    return c.ok() ? std::string() : std::string(c.status().message());
  };
  EXPECT_NE(error(R"({"scale_factor": 3})").find("scale_factor: 3 must divide the 8 patches per side"),
            std::string::npos);
  EXPECT_NE(error(R"({"image_token_id": 320})").find("image_token_id: token id 320 is outside"),
            std::string::npos);
  EXPECT_NE(error(R"({"text_config": {"model_type": "mistral"}})").find("only a llama text model"),
            std::string::npos);
  EXPECT_NE(error(R"({"model_type": "llava"})").find("model_type: expected idefics3 or smolvlm"),
            std::string::npos);
  EXPECT_NE(error(R"({"vision_config": {"num_attention_heads": 3}})").find("num_attention_heads"),
            std::string::npos);
  EXPECT_NE(error(R"({"text_config": {"num_key_value_heads": 3}})").find("text_config"),
            std::string::npos);
}

} // namespace
} // namespace mvc

namespace mvc {
namespace {
TEST(Idefics3Config, ClassDefaultsAloneAreRefused) {
  auto c = parseIdefics3Config(OrderedJson::parse(R"({"vision_config": {}, "text_config": {}})"),
                               OrderedJson::object(), "config.json");
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.status().message().find("scale_factor: 2 must divide the 7 patches per side"),
            std::string::npos)
      << c.status();
}
} // namespace
} // namespace mvc
