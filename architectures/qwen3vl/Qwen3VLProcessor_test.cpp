// Qwen3-VL's image sizes and 3-D positions against transformers 5.23.0's own functions
// (tests/fixtures/gen_qwen3vl_processor.py): every case exact.
#include "architectures/qwen3vl/Qwen3VLProcessor.h"

#include <fstream>
#include <sstream>

#include "gtest/gtest.h"
#include "nlohmann/json.hpp"

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
