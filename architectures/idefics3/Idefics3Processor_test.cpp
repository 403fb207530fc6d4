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

// Position ids of frames whose image is smaller than the frame, for patch grids of 8 (the
// tiny fixtures), 26 (Idefics3), 32 (SmolVLM) and four grids where torch's float32
// boundaries and the coordinates meet, against transformers' Idefics3VisionEmbeddings
// (patch_positions.json, gen_idefics3_patch_positions.py): every nb x nb rectangle; the
// buckets of other shapes combine the same per-axis buckets.
TEST(Idefics3PatchPositions, MatchTransformersForEveryRectangle) {
  const json data = json::parse(readText(fixturePath("patch_positions.json")));
  int64_t checked = 0;
  for (const auto &[grid, rects] : data.at("grids").items()) {
    const int64_t n = std::stoll(grid);
    for (size_t k = 0; k < rects.size(); ++k) {
      const int64_t nb = static_cast<int64_t>(k) + 1;
      const std::vector<int32_t> want = rects[k].get<std::vector<int32_t>>();
      std::vector<int32_t> ids = patchPositionIds(n, {nb, nb});
      ASSERT_EQ(ids.size(), static_cast<size_t>(n * n));
      for (int64_t i = 0; i < n; ++i)
        for (int64_t j = 0; j < n; ++j) {
          int32_t expected =
              i < nb && j < nb ? want[i] * static_cast<int32_t>(n) + want[j] : 0;
          ASSERT_EQ(ids[i * n + j], expected) << "grid " << n << ", " << nb << " x " << nb
                                              << " real patches, patch (" << i << ", " << j
                                              << ")";
        }
      ++checked;
    }
  }
  EXPECT_EQ(checked, 8 + 19 + 26 + 27 + 32 + 50 + 64);
  // A full frame takes positions 0, 1, 2, ... (what the model uses without a mask).
  std::vector<int32_t> full = patchPositionIds(26, {26, 26});
  for (size_t i = 0; i < full.size(); ++i) ASSERT_EQ(full[i], static_cast<int32_t>(i));
}

TEST(Idefics3PatchPositions, RealPatchesFromThePixelMask) {
  // 8 x 8 pixels, 2-pixel patches: image pixels in rows 0..4 and columns 0..2 touch
  // patch rows 0..2 and patch columns 0..1 (a patch with any image pixel is real).
  std::vector<uint8_t> mask(64, 0);
  for (int y = 0; y < 5; ++y)
    for (int x = 0; x < 3; ++x) mask[y * 8 + x] = 1;
  absl::StatusOr<PatchRect> rect = realPatches(mask, 8, 2);
  ASSERT_TRUE(rect.ok()) << rect.status();
  EXPECT_EQ(rect->rows, 3);
  EXPECT_EQ(rect->cols, 2);
  std::vector<uint8_t> all(64, 1);
  rect = realPatches(all, 8, 2);
  ASSERT_TRUE(rect.ok());
  EXPECT_EQ(rect->rows, 4);
  EXPECT_EQ(rect->cols, 4);
}

TEST(Idefics3PatchPositions, RefusesMasksThatAreNotATopLeftRectangle) {
  std::vector<uint8_t> none(64, 0);
  EXPECT_THAT(realPatches(none, 8, 2).status().message(), HasSubstr("no image pixel"));
  std::vector<uint8_t> hole(64, 1);
  hole[3 * 8 + 3] = 0;  // still real: patch (1, 1) keeps 3 image pixels
  EXPECT_TRUE(realPatches(hole, 8, 2).ok());
  std::vector<uint8_t> island(64, 0);
  island[0] = 1;
  island[7 * 8 + 7] = 1;  // patch (3, 3) outside the 1 x 1 rectangle
  EXPECT_THAT(realPatches(island, 8, 2).status().message(),
              HasSubstr("patch (3, 3) of the 4 x 4 grid is image"));
  std::vector<uint8_t> right(64, 0);
  for (int y = 0; y < 8; ++y) right[y * 8 + 7] = 1;  // padding on the left
  EXPECT_THAT(realPatches(right, 8, 2).status().message(), HasSubstr("rectangle at the top left"));
  EXPECT_THAT(realPatches(none, 8, 3).status().message(), HasSubstr("3-pixel patches"));
}

} // namespace
} // namespace mvc::idefics3
