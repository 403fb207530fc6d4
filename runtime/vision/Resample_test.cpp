#include "runtime/vision/Resample.h"

#include <gtest/gtest.h>

#include "runtime/vision/TestFixtures.h"

namespace mvc::vision {
namespace {

using testing::fixtureImages;
using testing::readFixtureImage;

// PIL's Image.resize(size, BILINEAR) of every fixture image (down, up, and one axis each
// way: 3x500, 1000x7), byte for byte.
TEST(Resample, BilinearMatchesPilExactly) {
  for (const std::string &name : fixtureImages()) {
    SCOPED_TRACE(name);
    RgbImage expected = readFixtureImage(name + ".pil_resized.npy");
    RgbImage out = resize(readFixtureImage(name + ".rgb.npy"), expected.height, expected.width,
                          ResampleFilter::kBilinear, FixedPoint::kPillow);
    EXPECT_TRUE(out.pixels == expected.pixels);
  }
}

// BICUBIC of every fixture image: PIL's bytes with PIL's arithmetic, torchvision's (torch's
// uint8 antialiased interpolate) with torch's.
TEST(Resample, BicubicMatchesPilAndTorchvisionExactly) {
  for (const std::string &name : fixtureImages()) {
    SCOPED_TRACE(name);
    RgbImage image = readFixtureImage(name + ".rgb.npy");
    RgbImage pil = readFixtureImage(name + ".pil_bicubic.npy");
    RgbImage torch = readFixtureImage(name + ".torch_bicubic.npy");
    EXPECT_TRUE(resize(image, pil.height, pil.width, ResampleFilter::kBicubic,
                       FixedPoint::kPillow).pixels == pil.pixels);
    EXPECT_TRUE(resize(image, torch.height, torch.width, ResampleFilter::kBicubic,
                       FixedPoint::kTorchUint8).pixels == torch.pixels);
  }
}

// LANCZOS (Idefics3 / SmolVLM) of every fixture image, PIL's bytes with PIL's arithmetic;
// the lanczos weights go negative twice as far out as bicubic's.
TEST(Resample, LanczosMatchesPilExactly) {
  for (const std::string &name : fixtureImages()) {
    SCOPED_TRACE(name);
    RgbImage expected = readFixtureImage(name + ".pil_lanczos.npy");
    RgbImage out = resize(readFixtureImage(name + ".rgb.npy"), expected.height, expected.width,
                          ResampleFilter::kLanczos, FixedPoint::kPillow);
    EXPECT_TRUE(out.pixels == expected.pixels);
  }
}

TEST(Resample, SameSizeIsIdentity) {
  RgbImage image = readFixtureImage("rgb.jpg.rgb.npy");
  for (ResampleFilter filter :
       {ResampleFilter::kLanczos, ResampleFilter::kBilinear, ResampleFilter::kBicubic})
    EXPECT_TRUE(resize(image, image.height, image.width, filter).pixels == image.pixels);
}

// Bicubic overshoots at edges; the sums must saturate, not wrap.
TEST(Resample, BicubicSaturatesAtSharpEdges) {
  RgbImage image{1, 8, {}};
  for (int x = 0; x < 8; ++x)
    image.pixels.insert(image.pixels.end(), 3, x % 2 ? 255 : 0);
  RgbImage out = resize(image, 1, 13, ResampleFilter::kBicubic);
  bool sawBlack = false, sawWhite = false;
  for (uint8_t v : out.pixels) {
    sawBlack |= v == 0;
    sawWhite |= v == 255;
  }
  EXPECT_TRUE(sawBlack && sawWhite);
}

TEST(Resample, FiltersFromPilNumbers) {
  EXPECT_EQ(*resampleFilterFromPil(2), ResampleFilter::kBilinear);
  EXPECT_EQ(*resampleFilterFromPil(3), ResampleFilter::kBicubic);
  EXPECT_EQ(*resampleFilterFromPil(1), ResampleFilter::kLanczos);
  EXPECT_FALSE(resampleFilterFromPil(0).ok()); // NEAREST
  EXPECT_FALSE(resampleFilterFromPil(4).ok()); // BOX
}

} // namespace
} // namespace mvc::vision
