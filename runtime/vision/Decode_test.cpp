#include "runtime/vision/Decode.h"

#include <fstream>
#include <iterator>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "runtime/vision/Exif.h"
#include "runtime/vision/TestFixtures.h"

namespace mvc::vision {
namespace {

using ::testing::HasSubstr;
using testing::fixtureImages;
using testing::fixturePath;
using testing::readFixtureImage;

// Every kind of file decodes to exactly the bytes HF's load_image (PIL) gives.
TEST(Decode, MatchesLoadImageExactly) {
  for (const std::string &name : fixtureImages()) {
    SCOPED_TRACE(name);
    absl::StatusOr<RgbImage> image = loadImage(fixturePath(name));
    ASSERT_TRUE(image.ok()) << image.status();
    RgbImage expected = readFixtureImage(name + ".rgb.npy");
    EXPECT_EQ(image->height, expected.height);
    EXPECT_EQ(image->width, expected.width);
    EXPECT_TRUE(image->pixels == expected.pixels);
  }
}

TEST(Decode, BadFilesGiveOneErrorNamingTheFile) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"bad_truncated.jpg", "bad JPEG"},   {"bad_truncated.png", "bad PNG"},
      {"bad_corrupt.png", "bad PNG"},      {"bad_zero_width.png", "bad PNG"},
      {"bad_huge.png", "30000x30000"},     {"bad_huge.jpg", "30000x30000"},
      {"bad_cmyk.jpg", "color space"},     {"bad_format.gif", "not a JPEG or PNG"},
      {"bad_text.txt", "not a JPEG or PNG"}, {"bad_empty.jpg", "empty"},
      {"no_such_file.png", "cannot open"}};
  for (const auto &[name, what] : cases) {
    SCOPED_TRACE(name);
    absl::StatusOr<RgbImage> image = loadImage(fixturePath(name));
    ASSERT_FALSE(image.ok());
    EXPECT_THAT(image.status().message(), HasSubstr(name));
    EXPECT_THAT(image.status().message(), HasSubstr(what));
  }
}

// 64 prefixes and 64 one-byte corruptions of each fixture file: each decodes
// or gives an error naming the file; under ASan this also checks nothing reads out of bounds.
TEST(Decode, DamagedFilesNeverCrash) {
  for (const std::string &name : fixtureImages()) {
    SCOPED_TRACE(name);
    std::ifstream file(fixturePath(name), std::ios::binary);
    const std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(file)),
                                     std::istreambuf_iterator<char>());
    ASSERT_FALSE(bytes.empty());
    for (size_t step = 0; step < 64; ++step) {
      const size_t at = bytes.size() * step / 64;
      std::vector<uint8_t> damaged = bytes;
      damaged[at] ^= 0x5a;
      for (const auto &data : {std::vector<uint8_t>(bytes.begin(), bytes.begin() + at), damaged}) {
        absl::StatusOr<RgbImage> image = decodeImage(data, name);
        if (!image.ok())
          EXPECT_THAT(image.status().message(), HasSubstr(name));
        else
          EXPECT_EQ(int64_t(image->pixels.size()), image->height * image->width * 3);
      }
    }
  }
}

TEST(Decode, PixelLimitIsCheckedBeforeDecoding) {
  absl::StatusOr<RgbImage> image = loadImage(fixturePath("rgb.jpg"), {/*maxPixels=*/97 * 60});
  ASSERT_FALSE(image.ok());
  EXPECT_EQ(image.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_TRUE(loadImage(fixturePath("rgb.jpg"), {/*maxPixels=*/97 * 61}).ok());
}

// A 2x3 image whose pixel values are their (row, column): each orientation moves the
// top-left corner where PIL's exif_transpose does.
TEST(Exif, OrientationsMoveTheCornersAsPil) {
  RgbImage image{2, 3, {}};
  for (int64_t y = 0; y < 2; ++y)
    for (int64_t x = 0; x < 3; ++x)
      image.pixels.insert(image.pixels.end(), {uint8_t(y), uint8_t(x), 0});
  struct Case { int orientation; int64_t h, w; uint8_t topLeftY, topLeftX; };
  for (Case c : {Case{1, 2, 3, 0, 0}, Case{2, 2, 3, 0, 2}, Case{3, 2, 3, 1, 2},
                 Case{4, 2, 3, 1, 0}, Case{5, 3, 2, 0, 0}, Case{6, 3, 2, 1, 0},
                 Case{7, 3, 2, 1, 2}, Case{8, 3, 2, 0, 2}}) {
    SCOPED_TRACE(c.orientation);
    RgbImage out = applyOrientation(image, c.orientation);
    EXPECT_EQ(out.height, c.h);
    EXPECT_EQ(out.width, c.w);
    EXPECT_EQ(out.at(0, 0)[0], c.topLeftY);
    EXPECT_EQ(out.at(0, 0)[1], c.topLeftX);
  }
}

TEST(Exif, MalformedBlocksReadAsUpright) {
  auto orientation = [](std::string bytes) {
    return exifOrientation({reinterpret_cast<const uint8_t *>(bytes.data()), bytes.size()});
  };
  using namespace std::string_literals;
  const std::string header = "Exif\0\0MM\0\x2a\0\0\0\x08"s;
  const std::string entry = "\x01\x12\0\x03\0\0\0\x01\0\x06\0\0"s;
  EXPECT_EQ(orientation(header + "\0\x01"s + entry), 6);
  EXPECT_EQ(orientation(header + "\0\x02"s + entry), 6);        // second entry missing: found first
  EXPECT_EQ(orientation(header + "\0\x01"s + entry.substr(0, 9)), 1); // cut inside the entry
  EXPECT_EQ(orientation(header), 1);                           // no IFD
  EXPECT_EQ(orientation("Exif\0\0XX\0\x2a\0\0\0\x08"s), 1);              // unknown byte order
  EXPECT_EQ(orientation("JFIF"), 1);
}

} // namespace
} // namespace mvc::vision
