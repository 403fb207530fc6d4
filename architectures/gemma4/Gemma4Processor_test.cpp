// Gemma 4's image preprocessing against transformers 5.23.0's Gemma4ImageProcessor
// (torchvision backend; tests/fixtures/gen_gemma4_vision.py): the resize target of images
// of four shapes (one that takes the "height rounds to 0" fallback and the side cap), the
// patches, and the vision inputs' pooling taps.
#include "architectures/gemma4/Gemma4Processor.h"

#include <fstream>
#include <sstream>

#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "runtime/util/Npy.h"
#include "runtime/vision/Decode.h"

namespace mvc::gemma4 {
namespace {

const std::string kDir = std::string(MVC_FIXTURES_DIR) + "/tiny-gemma4-vision/";

std::string readFile(const std::string &path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

ImageProcessorConfig fixtureConfig() {
  auto config = ImageProcessorConfig::parse(readFile(kDir + "preprocessor_config.json"), "preprocessor_config.json");
  EXPECT_TRUE(config.ok()) << config.status();
  return *config;
}

TEST(Gemma4Processor, ConfigAsTransformersReadsIt) {
  ImageProcessorConfig c = fixtureConfig();
  EXPECT_EQ(c.patchSize, 4);
  EXPECT_EQ(c.maxSoftTokens, 70);
  EXPECT_EQ(c.poolingKernelSize, 3);
  EXPECT_EQ(c.maxPatches(), 630);
  EXPECT_FALSE(c.pixels.doNormalize);
  auto bad = ImageProcessorConfig::parse(R"({"max_soft_tokens": 100})", "p.json");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().message(), "p.json: max_soft_tokens must be one of 70, 140, 280, 560, 1120, got 100");
  EXPECT_FALSE(ImageProcessorConfig::parse(R"({"max_soft_tokens": "70"})", "p.json").ok());
  EXPECT_FALSE(ImageProcessorConfig::parse("[]", "p.json").ok());
}

// The RGB images: their patches equal transformers' real (unpadded) rows. (image3 is an
// RGBA PNG with graded alpha: transformers composites it onto white when given a PIL image,
// as the fixture was made, but drops the alpha when given its path, as mvc does, like PIL's
// convert("RGB"): not compared here.)
TEST(Gemma4Processor, PatchesEqualTransformers) {
  ImageProcessorConfig c = fixtureConfig();
  nlohmann::json ref = nlohmann::json::parse(readFile(kDir + "reference.json"));
  for (int j = 0; j < 3; ++j) {
    const nlohmann::json &im = ref["images"][j];
    SCOPED_TRACE(im["image"].get<std::string>());
    auto image = vision::loadImage(kDir + im["image"].get<std::string>());
    ASSERT_TRUE(image.ok()) << image.status();
    auto size = targetSize(image->height, image->width, c);
    ASSERT_TRUE(size.ok()) << size.status();
    EXPECT_EQ(size->first, im["resize_target_height"].get<int64_t>());
    EXPECT_EQ(size->second, im["resize_target_width"].get<int64_t>());
    auto patches = preprocessImage(*image, c);
    ASSERT_TRUE(patches.ok()) << patches.status();
    EXPECT_EQ(patches->rows, im["patch_grid_rows"].get<int64_t>());
    EXPECT_EQ(patches->cols, im["patch_grid_cols"].get<int64_t>());
    EXPECT_EQ(softTokenCount(patches->rows, patches->cols, 3), im["num_soft_tokens"].get<int64_t>());
    auto hf = readNpy(kDir + im["pixel_values"].get<std::string>());
    ASSERT_TRUE(hf.ok()) << hf.status();
    const float *want = reinterpret_cast<const float *>(hf->data.data());
    ASSERT_LE(patches->values.size(), hf->data.size() / 4);
    float worst = 0;
    for (size_t i = 0; i < patches->values.size(); ++i)
      worst = std::max(worst, std::abs(patches->values[i] - want[i]));
    // Both are uint8 levels / 255 in f32: equal, or one level apart (torch's and mvc's
    // fixed-point resize agree to the byte on these images).
    EXPECT_EQ(worst, 0.0f);
  }
}

// A checkpoint without the processor files gets transformers' class defaults (the run
// half then sets the tower's patch size and pooling kernel).
TEST(Gemma4Processor, ClassDefaults) {
  ImageProcessorConfig image = ImageProcessorConfig::defaults();
  EXPECT_EQ(image.patchSize, 16);
  EXPECT_EQ(image.maxSoftTokens, 280);
  EXPECT_EQ(image.poolingKernelSize, 3);
  EXPECT_FALSE(image.pixels.doNormalize);
  EXPECT_EQ(image.pixels.resample, vision::ResampleFilter::kBicubic);
  VideoProcessorConfig video = VideoProcessorConfig::defaults();
  EXPECT_EQ(video.numFrames, 32);
  EXPECT_EQ(video.frames.maxSoftTokens, 70);
  EXPECT_TRUE(video.frames.pixels.doNormalize);  // with mean 0 and std 1: x / 255
  EXPECT_EQ(video.frames.pixels.imageMean[0], 0.0);
  EXPECT_EQ(video.frames.pixels.imageStd[0], 1.0);
  EXPECT_EQ(checkFitsTower(image, 16, 3, "p.json"), absl::OkStatus());
  EXPECT_EQ(checkFitsTower(image, 14, 3, "p.json").message(),
            "p.json: patch_size 16 and pooling_kernel_size 3 differ from the vision model's 14 and 3");
}

TEST(Gemma4Processor, TargetSizeEdges) {
  ImageProcessorConfig c = fixtureConfig();
  // A 1x1 image upscales to the whole budget (96 x 96 here).
  auto one = targetSize(1, 1, c);
  ASSERT_TRUE(one.ok()) << one.status();
  EXPECT_EQ(one->first * one->second, 96 * 96);
  // A 1 x 100000 strip: the height rounds to 0, so it becomes one pooled row (12) and the
  // width its aspect ratio's multiple, capped at the budget's side (70 x 12 = 840).
  auto zero = targetSize(1, 100000, c);
  ASSERT_TRUE(zero.ok());
  EXPECT_EQ(zero->first, 12);
  EXPECT_EQ(zero->second, 840);
}

TEST(Gemma4Processor, PoolingTapsRowMajorOverThePooledGrid) {
  auto v = visionInputs({Grid{3, 6}, Grid{3, 3}}, 256, 3);
  ASSERT_TRUE(v.ok()) << v.status();
  EXPECT_EQ(v->segments, (std::vector<int32_t>{0, 18, 27}));
  // Soft token 1 of the first image: columns 3..5 of rows 0..2.
  EXPECT_EQ(std::vector<int32_t>(v->poolIds.begin() + 9, v->poolIds.begin() + 18),
            (std::vector<int32_t>{3, 4, 5, 9, 10, 11, 15, 16, 17}));
  // The second image's patches follow the first's.
  EXPECT_EQ(v->poolIds[18], 18);
  // Patch 7 of the first image: x = 1, y = 1: table rows 1 and 256 + 1.
  EXPECT_EQ(v->posIds[14], 1);
  EXPECT_EQ(v->posIds[15], 257);
  auto big = visionInputs({Grid{3, 300}}, 256, 3);
  ASSERT_FALSE(big.ok());
  EXPECT_EQ(big.status().message(),
            "image 0: 3x300 patches exceed the vision model's position table (256 per side)");
}

} // namespace
} // namespace mvc::gemma4

namespace mvc::gemma4 {
namespace {

// Videos: the clips of tests/fixtures/video decoded by mvc (FFmpeg), sampled, resized and
// patched, against Gemma4VideoProcessor with torchcodec (gen_gemma4_video.py).
TEST(Gemma4Processor, VideoFramesEqualTransformers) {
  const std::string dir = kDir + "videos/";
  auto config = VideoProcessorConfig::parse(readFile(dir + "video_preprocessor_config.json"), "v.json");
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->numFrames, 4);
  EXPECT_EQ(config->frames.maxSoftTokens, 70);
  nlohmann::json ref = nlohmann::json::parse(readFile(dir + "reference.json"));
  for (const char *clip : {"h264.mp4", "vp9.webm"}) {
    SCOPED_TRACE(clip);
    const nlohmann::json &c = ref["clips"][clip];
    auto video = vision::openVideo(std::string(MVC_FIXTURES_DIR) + "/video/" + clip);
    ASSERT_TRUE(video.ok()) << video.status();
    auto indices = sampleFrameIndices((*video)->info().frameCount, (*video)->info().fps, *config);
    ASSERT_TRUE(indices.ok());
    EXPECT_EQ(nlohmann::json(*indices), c["frame_indices"]);
    auto v = preprocessVideo(**video, *config);
    ASSERT_TRUE(v.ok()) << v.status();
    EXPECT_EQ(nlohmann::json(v->timestamps), c["timestamps_mmss"]);
    auto hf = readNpy(dir + c["pixel_values"].get<std::string>());
    ASSERT_TRUE(hf.ok()) << hf.status();
    ASSERT_EQ(hf->shape.size(), 3u);
    const int64_t maxPatches = hf->shape[1], elems = hf->shape[2];
    ASSERT_EQ(static_cast<int64_t>(v->frames.size()), hf->shape[0]);
    const float *want = reinterpret_cast<const float *>(hf->data.data());
    float worst = 0;
    for (size_t f = 0; f < v->frames.size(); ++f)
      for (size_t i = 0; i < v->frames[f].size(); ++i)
        worst = std::max(worst, std::abs(v->frames[f][i] - want[f * maxPatches * elems + i]));
    EXPECT_EQ(worst, 0.0f);
  }
  EXPECT_EQ(frameTimestamp(0.9), "00:00");
  EXPECT_EQ(frameTimestamp(61.5), "01:01");
  EXPECT_EQ(frameTimestamp(3600.0), "60:00");
  auto tooMany = sampleFrameIndices(3, 10.0, *config);
  ASSERT_FALSE(tooMany.ok());
  EXPECT_EQ(tooMany.status().message(), "the processor samples 4 frames but the video has 3 (transformers refuses it too)");
}

} // namespace
} // namespace mvc::gemma4
