#include "architectures/idefics3/Idefics3Processor.h"

#include <cstring>
#include <fstream>
#include <sstream>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "runtime/util/Npy.h"
#include "runtime/vision/Decode.h"

namespace mvc::idefics3 {
namespace {

using nlohmann::json;
using ::testing::HasSubstr;

// tests/fixtures/idefics3_processor, written by gen_idefics3_processor.py.
std::string fixturePath(const std::string &name) {
  return std::string(MVC_IDEFICS3_FIXTURES) + "/" + name;
}

std::string readText(const std::string &path) {
  std::ifstream in(path, std::ios::binary);
  EXPECT_TRUE(in) << path;
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

const json &reference() {
  static const json parsed = json::parse(readText(fixturePath("reference.json")));
  return parsed;
}

// The processor outputs every frame of every fixture image bit for bit as transformers'
// PIL backend does (deterministic PIL integer resizes, then the same float operations),
// for a splitting config, a non-splitting one (per-channel mean/std) and one without the
// longest-edge resize (bicubic; one image stays a single frame).
TEST(Idefics3Processor, PixelValuesMatchTransformersBitForBit) {
  for (const auto &[configName, entry] : reference()["configs"].items()) {
    absl::StatusOr<Idefics3ProcessorConfig> config = Idefics3ProcessorConfig::parse(
        readText(fixturePath(configName + "/preprocessor_config.json")), configName);
    ASSERT_TRUE(config.ok()) << config.status();
    for (const auto &[imageName, expected] : entry["images"].items()) {
      SCOPED_TRACE(configName + "/" + imageName);
      absl::StatusOr<vision::RgbImage> image = vision::loadImage(fixturePath(imageName + ".png"));
      ASSERT_TRUE(image.ok()) << image.status();
      ImageFrames frames = process(*image, *config);
      EXPECT_EQ(frames.rows, expected["rows"].get<int64_t>());
      EXPECT_EQ(frames.cols, expected["cols"].get<int64_t>());
      EXPECT_EQ(frames.frames, expected["frames"].get<int64_t>());
      absl::StatusOr<NpyArray> want =
          readNpy(fixturePath(configName + "/" + imageName + ".pixel_values.npy"));
      ASSERT_TRUE(want.ok()) << want.status();
      ASSERT_EQ(want->dtype, DType::F32);
      EXPECT_EQ(want->shape, (std::vector<int64_t>{frames.frames, 3, frames.side, frames.side}));
      ASSERT_EQ(want->data.size(), frames.pixelValues.size() * sizeof(float));
      EXPECT_EQ(std::memcmp(want->data.data(), frames.pixelValues.data(), want->data.size()), 0);
    }
  }
}

// Idefics3Processor's and SmolVLMProcessor's text for every fixture prompt, before
// tokenization, exactly; SmolVLM also with its token names from the tokenizer config.
TEST(Idefics3Processor, ExpandedPromptsMatchTransformers) {
  const json &ref = reference();
  const int64_t seqLen = ref["image_seq_len"].get<int64_t>();
  const json &grids = ref["configs"]["split"]["images"];
  absl::StatusOr<ImageTokens> custom = ImageTokens::fromTokenizerConfig(
      json{{"extra_special_tokens", ref["smolvlm_tokens"]}}.dump(), "tokenizer_config.json");
  ASSERT_TRUE(custom.ok()) << custom.status();
  for (const json &prompt : ref["prompts"]) {
    SCOPED_TRACE(prompt["text"].get<std::string>());
    std::vector<ImageGrid> images;
    for (const json &name : prompt["images"])
      images.push_back({grids[name.get<std::string>()]["rows"].get<int64_t>(),
                        grids[name.get<std::string>()]["cols"].get<int64_t>()});
    absl::StatusOr<std::string> text =
        expandImageMarkers(prompt["text"].get<std::string>(), images, seqLen, ImageTokens{});
    ASSERT_TRUE(text.ok()) << text.status();
    EXPECT_EQ(*text, prompt["idefics3"].get<std::string>());
    EXPECT_EQ(*text, prompt["smolvlm"].get<std::string>());
    text = expandImageMarkers(prompt["smolvlm_custom_text"].get<std::string>(), images, seqLen,
                              *custom);
    ASSERT_TRUE(text.ok()) << text.status();
    EXPECT_EQ(*text, prompt["smolvlm_custom"].get<std::string>());
  }
}

TEST(Idefics3Processor, MarkerAndImageCountsMustAgree) {
  for (size_t images : {0, 1, 3}) {
    absl::StatusOr<std::string> text =
        expandImageMarkers("<image> and <image>", std::vector<ImageGrid>(images), 4, {});
    ASSERT_FALSE(text.ok());
    EXPECT_THAT(text.status().message(), HasSubstr("2 image markers (<image>)"));
  }
}

TEST(Idefics3Processor, SmolVlmTokenNamesFromTokenizerConfig) {
  // A name in extra_special_tokens wins over the same top-level key (as transformers 5.23).
  const json &precedence = reference()["smolvlm_token_precedence"];
  absl::StatusOr<ImageTokens> tokens =
      ImageTokens::fromTokenizerConfig(precedence["tokenizer_config"].dump(), "tok.json");
  ASSERT_TRUE(tokens.ok()) << tokens.status();
  EXPECT_EQ(tokens->globalImageToken, precedence["global_image_token"].get<std::string>());
  EXPECT_EQ(tokens->imageToken, "<image>");
  tokens = ImageTokens::fromTokenizerConfig(
      R"({"fake_image_token": {"content": "<f>", "__type": "AddedToken"}})", "tok.json");
  ASSERT_TRUE(tokens.ok()) << tokens.status();
  EXPECT_EQ(tokens->fakeImageToken, "<f>");
  EXPECT_EQ(tokens->globalImageToken, "<global-img>");
  EXPECT_FALSE(ImageTokens::fromTokenizerConfig(R"({"image_token": 7})", "tok.json").ok());
}

// Sizes from transformers' get_resize_output_image_size (5.23), including the 4096 cap.
TEST(Idefics3Processor, LongestEdgeSizeMatchesTransformers) {
  struct Case {
    int64_t h, w, longest, wantH, wantW;
  };
  for (Case c : {Case{37, 53, 64, 44, 64}, Case{1000, 3, 1456, 1456, 4},
                 Case{3, 1000, 1456, 4, 1456}, Case{300, 5000, 5000, 245, 4096},
                 Case{4999, 5000, 8000, 4094, 4096}, Case{5000, 3001, 6000, 4096, 2458},
                 Case{1, 1, 1456, 1456, 1456}, Case{333, 1000, 1456, 484, 1456}}) {
    SCOPED_TRACE(testing::Message() << c.h << "x" << c.w << " -> " << c.longest);
    EXPECT_EQ(longestEdgeSize(c.h, c.w, c.longest), std::make_pair(c.wantH, c.wantW));
  }
}

TEST(Idefics3Processor, VisionEncoderSizeIsMultiplesOfTheTile) {
  struct Case {
    int64_t h, w, side, wantH, wantW;
  };
  for (Case c : {Case{18, 64, 16, 32, 64}, Case{64, 22, 16, 64, 32}, Case{34, 48, 16, 48, 48},
                 Case{1456, 1093, 364, 1456, 1456}, Case{3, 1000, 364, 364, 1092},
                 Case{91, 1456, 364, 364, 1456}}) {
    SCOPED_TRACE(testing::Message() << c.h << "x" << c.w << " / " << c.side);
    EXPECT_EQ(visionEncoderSize(c.h, c.w, c.side), std::make_pair(c.wantH, c.wantW));
  }
}

TEST(Idefics3ProcessorConfig, DefaultsAreTheProcessorClasses) {
  absl::StatusOr<Idefics3ProcessorConfig> config = Idefics3ProcessorConfig::parse("{}", "cfg");
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->longestEdge, 1456);
  EXPECT_EQ(config->maxImageSize, 364);
  EXPECT_EQ(config->resample, vision::ResampleFilter::kLanczos);
  EXPECT_TRUE(config->doImageSplitting && config->doResize && config->doRescale &&
              config->doNormalize && config->doPad && config->doConvertRgb);
  EXPECT_EQ(config->imageMean[1], 0.5);
  EXPECT_EQ(config->imageStd[2], 0.5);
}

TEST(Idefics3ProcessorConfig, RefusesBadValues) {
  struct Case {
    const char *json, *what;
  };
  for (Case c :
       {Case{R"({"do_resize": "yes"})", "do_resize: expected true or false"},
        Case{R"({"size": {"longest_edge": 0}})", "size.longest_edge"},
        Case{R"({"size": {"shortest_edge": 10}})", "size: expected \"longest_edge\""},
        Case{R"({"size": 1456})", "size: expected an object"},
        Case{R"({"max_image_size": {"longest_edge": -3}})", "max_image_size.longest_edge"},
        Case{R"({"max_image_size": {}})", "max_image_size: has no \"longest_edge\""},
        Case{R"({"resample": 0})", "resample 0 is not supported"},
        Case{R"({"resample": "lanczos"})", "resample: expected a PIL filter number"},
        Case{R"({"rescale_factor": "1/255"})", "rescale_factor"},
        Case{R"({"image_mean": [0.5, 0.5]})", "image_mean"},
        Case{R"({"image_std": [0.5, 0, 0.5]})", "image_std"},
        Case{R"([1])", "expected a JSON object"}, Case{R"({"size": )", "not valid JSON"}}) {
    SCOPED_TRACE(c.json);
    absl::StatusOr<Idefics3ProcessorConfig> config = Idefics3ProcessorConfig::parse(c.json, "cfg");
    ASSERT_FALSE(config.ok());
    EXPECT_THAT(config.status().message(), HasSubstr("cfg: "));
    EXPECT_THAT(config.status().message(), HasSubstr(c.what));
  }
}

} // namespace
} // namespace mvc::idefics3
