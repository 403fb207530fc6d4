#include "runtime/vision/ImageProcessor.h"

#include <algorithm>
#include <cmath>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "runtime/vision/Decode.h"
#include "runtime/vision/TestFixtures.h"

namespace mvc::vision {
namespace {

using ::testing::HasSubstr;
using testing::fixtureImages;
using testing::fixturePath;
using testing::readFixtureFloats;

float maxAbsDifference(const std::vector<float> &a, const std::vector<float> &b) {
  EXPECT_EQ(a.size(), b.size());
  float worst = 0;
  for (size_t i = 0; i < std::min(a.size(), b.size()); ++i)
    worst = std::max(worst, std::fabs(a[i] - b[i]));
  return worst;
}

ImageProcessorConfig fixtureConfig() {
  absl::StatusOr<ImageProcessorConfig> config =
      ImageProcessorConfig::load(fixturePath("preprocessor_config.json"));
  EXPECT_TRUE(config.ok()) << config.status();
  return config.ok() ? *config : ImageProcessorConfig{};
}

TEST(ImageProcessorConfig, ReadsGemma3Config) {
  ImageProcessorConfig config = fixtureConfig();
  EXPECT_EQ(config.height, 40);
  EXPECT_EQ(config.width, 32);
  EXPECT_EQ(config.resample, ResampleFilter::kBilinear);
  EXPECT_DOUBLE_EQ(config.rescaleFactor, 1.0 / 255.0);
  EXPECT_EQ(config.imageMean[2], 0.5);
  EXPECT_EQ(config.imageStd[0], 0.5);
}

TEST(ImageProcessorConfig, RefusesWhatItCannotDo) {
  struct Case { const char *json, *what; };
  for (Case c : {Case{R"({"size": {"height": 8, "width": 8}, "do_pan_and_scan": true,
                             "pan_and_scan_max_num_crops": 1})",
                      "pan_and_scan_max_num_crops"},
                 Case{R"({"size": {"height": 8, "width": 8}, "resample": 1})", "resample 1"},
                 Case{R"({"size": {"height": 8}})", "height and width"},
                 Case{R"({"size": {"height": 8, "width": 8}, "image_mean": [1, 2]})",
                      "image_mean"},
                 Case{R"({"size": )", "not valid JSON"}}) {
    SCOPED_TRACE(c.json);
    absl::StatusOr<ImageProcessorConfig> config = ImageProcessorConfig::parse(c.json, "cfg.json");
    ASSERT_FALSE(config.ok());
    EXPECT_THAT(config.status().message(), HasSubstr("cfg.json: "));
    EXPECT_THAT(config.status().message(), HasSubstr(c.what));
  }
}

// File to pixel_values against Gemma3ImageProcessor's default (torchvision) backend and
// against its PIL backend. The PIL arithmetic reproduces PIL's bytes, so against the PIL
// backend only float rounding of the normalization differs.
TEST(ImageProcessor, PixelValuesMatchTransformers) {
  ImageProcessorConfig config = fixtureConfig();
  for (const std::string &name : fixtureImages()) {
    SCOPED_TRACE(name);
    absl::StatusOr<RgbImage> image = loadImage(fixturePath(name));
    ASSERT_TRUE(image.ok()) << image.status();
    config.arithmetic = FixedPoint::kTorchUint8;
    EXPECT_EQ(maxAbsDifference(toPixelValues(*image, config),
                               readFixtureFloats(name + ".pixel_values.npy")),
              0.0f);
    config.arithmetic = FixedPoint::kPillow;
    EXPECT_LE(maxAbsDifference(toPixelValues(*image, config),
                               readFixtureFloats(name + ".pil_pixel_values.npy")),
              1e-6f);
  }
}

// Gemma3ImageProcessor(do_pan_and_scan=True, min crop 16): the image then its crops, for
// landscape and portrait images, uneven last crops, and images too thin to crop.
TEST(ImageProcessor, PanAndScanMatchesTransformers) {
  absl::StatusOr<ImageProcessorConfig> config =
      ImageProcessorConfig::load(fixturePath("preprocessor_config_pan_and_scan.json"));
  ASSERT_TRUE(config.ok()) << config.status();
  ASSERT_TRUE(config->panAndScan.has_value());
  EXPECT_EQ(config->panAndScan->minCropSize, 16);
  const std::vector<std::pair<std::string, int64_t>> cases = {
      {"rgb.jpg", 2}, {"exif6.jpg", 2}, {"wide.png", 4}, {"rgb_1000x7.png", 0},
      {"rgb_3x500.png", 0}};
  for (const auto &[name, crops] : cases) {
    SCOPED_TRACE(name);
    absl::StatusOr<RgbImage> image = loadImage(fixturePath(name));
    ASSERT_TRUE(image.ok()) << image.status();
    ProcessedImage processed = preprocess(*image, *config);
    EXPECT_EQ(processed.numCrops, crops);
    EXPECT_EQ(maxAbsDifference(processed.pixelValues,
                               readFixtureFloats(name + ".pan_and_scan_pixel_values.npy")),
              0.0f);
  }
}

TEST(ImageProcessor, PanAndScanCropsTileTheImage) {
  RgbImage image{10, 35, std::vector<uint8_t>(10 * 35 * 3)};
  for (size_t i = 0; i < image.pixels.size(); ++i)
    image.pixels[i] = uint8_t(i);
  std::vector<RgbImage> crops = panAndScanCrops(image, {/*minCropSize=*/4, 4, 1.2});
  ASSERT_EQ(crops.size(), 4u); // round(3.5) = 4 crops of ceil(35 / 4) = 9 columns, then 8
  EXPECT_EQ(crops[3].width, 8);
  EXPECT_EQ(crops[3].height, 10);
  EXPECT_EQ(crops[3].at(9, 7)[2], image.at(9, 34)[2]);
  EXPECT_TRUE(panAndScanCrops(image, {/*minCropSize=*/11, 4, 1.2}).empty()); // 10 rows < 11
}

} // namespace
} // namespace mvc::vision
