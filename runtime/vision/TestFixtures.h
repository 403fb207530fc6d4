//===- TestFixtures.h - tests/fixtures/vision for the vision tests ---------===//
//
// Written by tests/fixtures/gen_vision.py; reference.json there records the versions.
//
//===----------------------------------------------------------------------===//
#ifndef MVC_RUNTIME_VISION_TESTFIXTURES_H
#define MVC_RUNTIME_VISION_TESTFIXTURES_H

#include <cstring>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "runtime/util/Npy.h"
#include "runtime/vision/Image.h"

namespace mvc::vision::testing {

/// The decodable images of the fixture, one of each kind the decoders handle.
inline const std::vector<std::string> &fixtureImages() {
  static const std::vector<std::string> names = {
      "rgb.jpg",       "gray.jpg",       "exif2.jpg",         "exif3.jpg",
      "exif4.jpg",     "exif5.jpg",      "exif6.jpg",         "exif7.jpg",
      "exif8.jpg",     "rgb_1x1.png",    "rgb_3x500.png",     "rgb_1000x7.png",
      "gray.png",      "gray_alpha.png", "rgba.png",          "palette.png",
      "palette_trns.png", "gray16.png",  "rgb16.png",        "wide.png"};
  return names;
}

inline std::string fixturePath(const std::string &name) {
  return std::string(MVC_VISION_FIXTURES) + "/" + name;
}

inline NpyArray readFixtureNpy(const std::string &name) {
  absl::StatusOr<NpyArray> array = readNpy(fixturePath(name));
  EXPECT_TRUE(array.ok()) << array.status();
  return array.ok() ? *std::move(array) : NpyArray{};
}

/// A uint8 [H, W, 3] array as an image.
inline RgbImage readFixtureImage(const std::string &name) {
  NpyArray array = readFixtureNpy(name);
  EXPECT_EQ(array.dtype, DType::U8);
  EXPECT_EQ(array.shape.size(), 3u);
  if (array.shape.size() != 3)
    return {};
  return RgbImage{array.shape[0], array.shape[1], std::move(array.data)};
}

/// A float32 array's elements.
inline std::vector<float> readFixtureFloats(const std::string &name) {
  NpyArray array = readFixtureNpy(name);
  EXPECT_EQ(array.dtype, DType::F32);
  std::vector<float> values(array.data.size() / sizeof(float));
  std::memcpy(values.data(), array.data.data(), values.size() * sizeof(float));
  return values;
}

} // namespace mvc::vision::testing

#endif // MVC_RUNTIME_VISION_TESTFIXTURES_H
