// Qwen3-VL's image sizes and 3-D positions against transformers 5.23.0's own functions
// (tests/fixtures/gen_qwen3vl_processor.py): every case exact.
#include "architectures/qwen3vl/Qwen3VLProcessor.h"

#include <cstdio>
#include <fstream>
#include <sstream>

#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "runtime/util/Npy.h"
#include "runtime/vision/Decode.h"

namespace mvc::qwen3vl {
namespace {

nlohmann::json fixture(const char *name) {
  std::ifstream in(std::string(MVC_QWEN3VL_FIXTURES) + "/" + name);
  std::stringstream text;
  text << in.rdbuf();
  return nlohmann::json::parse(text.str());
}

std::vector<GridThw> grids(const nlohmann::json &list) {
  std::vector<GridThw> out;
  for (const auto &g : list)
    out.push_back({g[0].get<int64_t>(), g[1].get<int64_t>(), g[2].get<int64_t>()});
  return out;
}

TEST(Qwen3VLProcessor, SmartResizeEqualsTransformers) {
  const nlohmann::json cases = fixture("smart_resize.json");
  ASSERT_GT(cases.size(), 200u);
  for (const auto &c : cases) {
    SCOPED_TRACE(c.dump());
    absl::StatusOr<std::pair<int64_t, int64_t>> got =
        smartResize(c["height"], c["width"], c["factor"], c["min_pixels"], c["max_pixels"]);
    if (c["resized"].is_string()) {
      ASSERT_FALSE(got.ok());
      EXPECT_NE(got.status().message().find("aspect ratio must be smaller than 200"),
                std::string::npos);
      continue;
    }
    ASSERT_TRUE(got.ok()) << got.status();
    EXPECT_EQ(got->first, c["resized"][0].get<int64_t>());
    EXPECT_EQ(got->second, c["resized"][1].get<int64_t>());
  }
}

TEST(Qwen3VLProcessor, RopeIndexEqualsTransformers) {
  const nlohmann::json cases = fixture("rope_index.json");
  ASSERT_EQ(cases.size(), 40u);
  int withVideo = 0, withImage = 0;
  for (const auto &c : cases) {
    std::vector<TokenKind> kinds;
    for (int k : c["kinds"])
      kinds.push_back(static_cast<TokenKind>(k));
    withImage += !c["image_grids"].empty();
    withVideo += !c["video_grids"].empty();
    absl::StatusOr<RopeIndex> got = ropeIndex(kinds, grids(c["image_grids"]),
                                              grids(c["video_grids"]), c["spatial_merge_size"]);
    ASSERT_TRUE(got.ok()) << got.status();
    for (int axis = 0; axis < 3; ++axis)
      EXPECT_EQ(got->positions[axis], c["positions"][axis].get<std::vector<int32_t>>())
          << "axis " << axis << " of " << c["kinds"].dump();
    EXPECT_EQ(got->delta, c["delta"].get<int64_t>());
  }
  EXPECT_GT(withImage, 10);
  EXPECT_GT(withVideo, 10);
}

// Resize, rescale, normalize and the merge-block patch order against transformers' default
// (torchvision) backend and, with PIL's fixed point, its PIL backend; images that resize
// up, down and not at all.
TEST(Qwen3VLProcessor, PixelValuesEqualTransformers) {
  std::ifstream in(std::string(MVC_QWEN3VL_FIXTURES) + "/images/image_processor.json");
  std::stringstream text;
  text << in.rdbuf();
  auto config = ImageProcessorConfig::parse(text.str(), "image_processor.json");
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->minPixels, 2048);
  EXPECT_EQ(config->maxPixels, 4096);
  ImageProcessorConfig pil = *config;
  pil.pixels.arithmetic = vision::FixedPoint::kPillow;
  for (const auto &c : fixture("images/images.json"))
    for (const auto &[cfg, key] : {std::pair<const ImageProcessorConfig *, const char *>{&*config, "pixel_values"},
                                   {&pil, "pixel_values_pil"}}) {
    std::string dir = std::string(MVC_QWEN3VL_FIXTURES) + "/images/";
    auto image = vision::loadImage(dir + c["image"].get<std::string>());
    ASSERT_TRUE(image.ok()) << image.status();
    auto patches = preprocessImage(*image, *cfg);
    ASSERT_TRUE(patches.ok()) << patches.status();
    GridThw want = grids(nlohmann::json::array({c["grid_thw"]}))[0];
    EXPECT_EQ(patches->grid.t, want.t);
    EXPECT_EQ(patches->grid.h, want.h);
    EXPECT_EQ(patches->grid.w, want.w);
    auto expected = readNpy(dir + c[key].get<std::string>());
    ASSERT_TRUE(expected.ok()) << expected.status();
    ASSERT_EQ(expected->shape, (std::vector<int64_t>{want.t * want.h * want.w, patches->rowElems}));
    const float *ref = reinterpret_cast<const float *>(expected->data.data());
    ASSERT_EQ(patches->values.size(), expected->data.size() / 4);
    double worst = 0;
    for (size_t i = 0; i < patches->values.size(); ++i)
      worst = std::max(worst, double(std::abs(patches->values[i] - ref[i])));
    EXPECT_LE(worst, 1e-6) << c["image"] << " " << key;
  }
}

// Videos end to end against transformers' Qwen3VLVideoProcessor (decoded by torchcodec, its
// default backend; tests/fixtures/gen_qwen3vl_video.py): the frames sampled, the grid, the
// timestamps the prompt shows and pixel_values_videos, for an H.264 MP4, a VP9 WebM (a width
// that rounds half to even, a timestamp 0.125 that prints as 0.1) and a frame directory
// (no frame rate: 24 assumed).
TEST(Qwen3VLProcessor, VideoPixelValuesEqualTransformers) {
  const std::string tiny = std::string(MVC_QWEN3VL_FIXTURES) + "/../tiny-qwen3vl-moe/";
  std::ifstream in(tiny + "video_preprocessor_config.json");
  std::stringstream text;
  text << in.rdbuf();
  auto config = VideoProcessorConfig::parse(text.str(), "video_preprocessor_config.json");
  ASSERT_TRUE(config.ok()) << config.status();
  std::ifstream refIn(tiny + "videos/reference.json");
  std::stringstream refText;
  refText << refIn.rdbuf();
  const nlohmann::json clips = nlohmann::json::parse(refText.str())["clips"];
  ASSERT_EQ(clips.size(), 3u);
  for (const auto &[name, clip] : clips.items()) {
    SCOPED_TRACE(name);
    auto video = vision::openVideo(std::string(MVC_QWEN3VL_FIXTURES) + "/../video/" + name);
    ASSERT_TRUE(video.ok()) << video.status();
    auto patches = preprocessVideo(**video, *config, int64_t{1} << 20);
    ASSERT_TRUE(patches.ok()) << patches.status();
    EXPECT_EQ(patches->frameIndices, clip["frame_indices"].get<std::vector<int64_t>>());
    EXPECT_EQ(patches->fps, clip["fps"].get<double>());
    GridThw want = grids(nlohmann::json::array({clip["grid"]}))[0];
    EXPECT_EQ(patches->grid.t, want.t);
    EXPECT_EQ(patches->grid.h, want.h);
    EXPECT_EQ(patches->grid.w, want.w);
    std::vector<std::string> stamps;
    for (double t : patches->timestamps) {
      char buffer[64];
      std::snprintf(buffer, sizeof(buffer), "<%.1f seconds>", t);
      stamps.push_back(buffer);
    }
    EXPECT_EQ(stamps, clip["timestamps"].get<std::vector<std::string>>());
    auto expected = readNpy(tiny + "videos/" + clip["pixel_values"].get<std::string>());
    ASSERT_TRUE(expected.ok()) << expected.status();
    ASSERT_EQ(expected->shape, (std::vector<int64_t>{want.t * want.h * want.w, patches->rowElems}));
    ASSERT_EQ(patches->values.size(), expected->data.size() / 4);
    const float *ref = reinterpret_cast<const float *>(expected->data.data());
    double worst = 0;
    for (size_t i = 0; i < patches->values.size(); ++i)
      worst = std::max(worst, double(std::abs(patches->values[i] - ref[i])));
    EXPECT_LE(worst, 1e-6);
  }
}

// Frame sampling as sample_frames: fps over the video's rate clamped to [min, max] and the
// frames there are, linspace rounded half to even; num_frames instead of fps; all frames.
TEST(Qwen3VLProcessor, SampleFrameIndices) {
  VideoProcessorConfig c;
  EXPECT_EQ(*sampleFrameIndices(13, 10.0, c), (std::vector<int64_t>{0, 4, 8, 12}));
  EXPECT_EQ(*sampleFrameIndices(8, 8.0, c), (std::vector<int64_t>{0, 2, 5, 7}));
  EXPECT_EQ(*sampleFrameIndices(3, 30.0, c), (std::vector<int64_t>{0, 1, 2}));
  EXPECT_EQ(sampleFrameIndices(600, 30.0, c)->size(), 40u);  // 20 s at 2 fps
  EXPECT_EQ(sampleFrameIndices(600, std::nullopt, c)->size(), 50u);  // 24 fps assumed
  c.fps.reset();
  c.numFrames = 5;
  EXPECT_EQ(*sampleFrameIndices(9, 10.0, c), (std::vector<int64_t>{0, 2, 4, 6, 8}));
  c.fps = 2.0;
  EXPECT_FALSE(sampleFrameIndices(9, 10.0, c).ok());
  c.doSampleFrames = false;
  EXPECT_EQ(sampleFrameIndices(3, 10.0, c)->size(), 3u);
  // Fewer frames than a temporal patch, too elongated a video: refused.
  EXPECT_FALSE(videoSmartResize(1, 64, 64, 2, 32, 4096, 49152).ok());
  EXPECT_FALSE(videoSmartResize(4, 32, 7000, 2, 32, 4096, 49152).ok());
}

// The vision program's inputs for two images and a two-frame video against what
// transformers' vision_utils computed for the same grids (tiny-qwen3vl-moe/vision).
TEST(Qwen3VLProcessor, VisionInputsEqualTransformers) {
  std::string dir = std::string(MVC_QWEN3VL_FIXTURES) + "/../tiny-qwen3vl-moe/vision/";
  std::ifstream in(dir + "vision.json");
  std::stringstream text;
  text << in.rdbuf();
  auto spec = nlohmann::json::parse(text.str());
  std::vector<GridThw> gs = grids(spec["grids"]);
  VisionInputs got = visionInputs(gs, /*side=*/4, /*merge=*/2);
  auto load = [&](int i) {
    auto npy = readNpy(dir + "in" + std::to_string(i) + ".npy");
    EXPECT_TRUE(npy.ok()) << npy.status();
    return *npy;
  };
  auto asI32 = [](const NpyArray &a) {
    const int32_t *p = reinterpret_cast<const int32_t *>(a.data.data());
    return std::vector<int32_t>(p, p + a.data.size() / 4);
  };
  EXPECT_EQ(got.posIds, asI32(load(1)));
  EXPECT_EQ(got.ropePositions, asI32(load(3)));
  EXPECT_EQ(got.segments, asI32(load(4)));
  NpyArray weights = load(2);
  const float *w = reinterpret_cast<const float *>(weights.data.data());
  ASSERT_EQ(got.posWeights.size(), weights.data.size() / 4);
  for (size_t i = 0; i < got.posWeights.size(); ++i) EXPECT_EQ(got.posWeights[i], w[i]) << i;
}

TEST(Qwen3VLProcessor, ImageProcessorConfigErrors) {
  EXPECT_FALSE(ImageProcessorConfig::parse("[]", "p.json").ok());
  auto budget = ImageProcessorConfig::parse(R"({"size": {"shortest_edge": 9000, "longest_edge": 10}})", "p.json");
  ASSERT_FALSE(budget.ok());
  EXPECT_NE(budget.status().message().find("exceeds its maximum"), std::string::npos);
  auto patch = ImageProcessorConfig::parse(R"({"patch_size": -16})", "p.json");
  ASSERT_FALSE(patch.ok());
  EXPECT_NE(patch.status().message().find("patch_size"), std::string::npos);
  // The older keys, when size is absent.
  auto old = ImageProcessorConfig::parse(R"({"min_pixels": 3136, "max_pixels": 12845056})", "p.json");
  ASSERT_TRUE(old.ok()) << old.status();
  EXPECT_EQ(old->minPixels, 3136);
  EXPECT_EQ(old->maxPixels, 12845056);
}

TEST(Qwen3VLProcessor, RopeIndexRefusesSpansThatDoNotMatchTheGrids) {
  using K = TokenKind;
  const std::vector<K> oneImage = {K::kText, K::kImage, K::kImage, K::kImage, K::kImage, K::kText};
  EXPECT_TRUE(ropeIndex(oneImage, {{1, 4, 4}}, {}, 2).ok());
  auto error = [&](std::vector<K> kinds, std::vector<GridThw> images, std::vector<GridThw> videos) {
    absl::StatusOr<RopeIndex> got = ropeIndex(kinds, images, videos, 2);
    return got.ok() ? std::string() : std::string(got.status().message());
  };
  EXPECT_NE(error(oneImage, {{1, 4, 2}}, {}).find("a span of 4 image tokens where its grid (1, 4, 2) needs 2"),
            std::string::npos);
  EXPECT_NE(error(oneImage, {}, {}).find("more image spans than the 0 images"), std::string::npos);
  EXPECT_NE(error(oneImage, {{1, 4, 4}, {1, 2, 2}}, {}).find("take 1 of 2 images"), std::string::npos);
  EXPECT_NE(error(oneImage, {{1, 3, 4}}, {}).find("multiples of the spatial merge 2"), std::string::npos);
  // A video of 2 temporal patches needs two frame spans.
  const std::vector<K> oneFrame = {K::kText, K::kVideo, K::kText};
  EXPECT_NE(error(oneFrame, {}, {{2, 2, 2}}).find("take 0 of 0 images and 1 of 2 video"),
            std::string::npos);
  // Text only: positions 0.. on every axis, delta 0.
  absl::StatusOr<RopeIndex> text = ropeIndex(std::vector<K>(5, K::kText), {}, {}, 2);
  ASSERT_TRUE(text.ok());
  EXPECT_EQ(text->positions[1], (std::vector<int32_t>{0, 1, 2, 3, 4}));
  EXPECT_EQ(text->delta, 0);
}

} // namespace
} // namespace mvc::qwen3vl
