//===- Idefics3Processor.cpp - Idefics3 / SmolVLM images and image prompts -===//
#include "architectures/idefics3/Idefics3Processor.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "runtime/util/Json.h"
#include "runtime/util/StatusMacros.h"
#include "runtime/vision/ProcessorConfigFields.h"

namespace mvc::idefics3 {

namespace {

using nlohmann::json;
using vision::RgbImage;

/// MAX_IMAGE_SIZE of the HF processors: no side of the first resize exceeds it.
constexpr int64_t kMaxImageSize = 4096;

absl::Status keyError(absl::string_view key, absl::string_view message) {
  return absl::InvalidArgumentError(absl::StrCat(key, ": ", message));
}

absl::StatusOr<Idefics3ProcessorConfig> parseConfig(const json &config) {
  if (!config.is_object())
    return absl::InvalidArgumentError("expected a JSON object");
  Idefics3ProcessorConfig out;
  MVC_ASSIGN_OR_RETURN(out.doConvertRgb, vision::configFlag(config, "do_convert_rgb", out.doConvertRgb));
  MVC_ASSIGN_OR_RETURN(out.doResize, vision::configFlag(config, "do_resize", out.doResize));
  MVC_ASSIGN_OR_RETURN(out.doImageSplitting,
                       vision::configFlag(config, "do_image_splitting", out.doImageSplitting));
  MVC_ASSIGN_OR_RETURN(out.doRescale, vision::configFlag(config, "do_rescale", out.doRescale));
  MVC_ASSIGN_OR_RETURN(out.doNormalize, vision::configFlag(config, "do_normalize", out.doNormalize));
  MVC_ASSIGN_OR_RETURN(out.doPad, vision::configFlag(config, "do_pad", out.doPad));
  if (auto size = config.find("size"); size != config.end() && !size->is_null()) {
    if (!size->is_object())
      return keyError("size", absl::StrCat("expected an object, got ", size->dump()));
    if (size->contains("longest_edge")) {
      MVC_ASSIGN_OR_RETURN(out.longestEdge, vision::configPositive(*size, "longest_edge", "size"));
    } else if (size->contains("height") && size->contains("width")) {
      out.longestEdge = 0;
      MVC_ASSIGN_OR_RETURN(out.height, vision::configPositive(*size, "height", "size"));
      MVC_ASSIGN_OR_RETURN(out.width, vision::configPositive(*size, "width", "size"));
    } else {
      return keyError("size", absl::StrCat("expected \"longest_edge\" or \"height\" and "
                                           "\"width\", got ",
                                           size->dump()));
    }
  }
  if (auto max = config.find("max_image_size"); max != config.end() && !max->is_null()) {
    if (!max->is_object())
      return keyError("max_image_size", absl::StrCat("expected an object, got ", max->dump()));
    MVC_ASSIGN_OR_RETURN(out.maxImageSize, vision::configPositive(*max, "longest_edge", "max_image_size"));
  }
  MVC_ASSIGN_OR_RETURN(out.resample, vision::configResample(config, out.resample));
  MVC_ASSIGN_OR_RETURN(out.rescaleFactor,
                       vision::configNumber(config, "rescale_factor", out.rescaleFactor));
  MVC_ASSIGN_OR_RETURN(out.imageMean, vision::configPerChannel(config, "image_mean", out.imageMean));
  MVC_ASSIGN_OR_RETURN(out.imageStd, vision::configPerChannel(config, "image_std", out.imageStd));
  if (std::find(out.imageStd.begin(), out.imageStd.end(), 0.0) != out.imageStd.end())
    return keyError("image_std", "a standard deviation of 0");
  return out;
}

int64_t roundUpTo(int64_t value, int64_t multiple) {
  return (value + multiple - 1) / multiple * multiple;
}

RgbImage crop(const RgbImage &image, int64_t y0, int64_t x0, int64_t height, int64_t width) {
  RgbImage out{height, width, std::vector<uint8_t>(height * width * 3)};
  for (int64_t y = 0; y < height; ++y)
    std::memcpy(out.at(y, 0), image.at(y0 + y, x0), width * 3);
  return out;
}

/// Appends `frame` as float32 CHW, with the PIL backend's arithmetic: rescale in float64
/// then rounded to float32, normalize in float32.
void appendFrame(const RgbImage &frame, const Idefics3ProcessorConfig &config,
                 std::vector<float> &out) {
  std::array<float, 3> mean{}, std{};
  for (int c = 0; c < 3; ++c) {
    mean[c] = float(config.imageMean[c]);
    std[c] = float(config.imageStd[c]);
  }
  const int64_t plane = frame.height * frame.width;
  const size_t base = out.size();
  out.resize(base + 3 * plane);
  for (int64_t i = 0; i < plane; ++i)
    for (int c = 0; c < 3; ++c) {
      const uint8_t x = frame.pixels[i * 3 + c];
      float value = config.doRescale ? float(double(x) * config.rescaleFactor) : float(x);
      if (config.doNormalize)
        value = (value - mean[c]) / std[c];
      out[base + c * plane + i] = value;
    }
}

} // namespace

absl::StatusOr<Idefics3ProcessorConfig> Idefics3ProcessorConfig::parse(absl::string_view text,
                                                                       const std::string &name) {
  MVC_ASSIGN_OR_RETURN(json parsed,
                       mvc::parseJson<json>(std::string_view(text.data(), text.size()), name));
  absl::StatusOr<Idefics3ProcessorConfig> config = parseConfig(parsed);
  if (!config.ok())
    return absl::Status(config.status().code(),
                        absl::StrCat(name, ": ", config.status().message()));
  return config;
}

std::pair<int64_t, int64_t> longestEdgeSize(int64_t height, int64_t width, int64_t longestEdge) {
  // The aspect ratios are float64 and the derived sides truncated, as HF computes them.
  double aspect = double(width) / double(height);
  if (width >= height) {
    width = longestEdge;
    height = int64_t(double(width) / aspect);
    height += height % 2;
  } else {
    height = longestEdge;
    width = int64_t(double(height) * aspect);
    width += width % 2;
  }
  height = std::max<int64_t>(height, 1);
  width = std::max<int64_t>(width, 1);
  aspect = double(width) / double(height);
  if (width >= height && width > kMaxImageSize) {
    width = kMaxImageSize;
    height = int64_t(double(width) / aspect);
  } else if (height > width && height > kMaxImageSize) {
    height = kMaxImageSize;
    width = int64_t(double(height) * aspect);
  }
  return {std::max<int64_t>(height, 1), std::max<int64_t>(width, 1)};
}

std::pair<int64_t, int64_t> visionEncoderSize(int64_t height, int64_t width, int64_t side) {
  const double aspect = double(width) / double(height);
  if (width >= height) {
    width = roundUpTo(width, side);
    height = roundUpTo(int64_t(double(width) / aspect), side);
  } else {
    height = roundUpTo(height, side);
    width = roundUpTo(int64_t(double(height) * aspect), side);
  }
  return {height, width};
}

ImageFrames process(const RgbImage &image, const Idefics3ProcessorConfig &config) {
  using vision::resize;
  const int64_t side = config.maxImageSize;
  const auto resizeTo = [&](const RgbImage &in, std::pair<int64_t, int64_t> size) {
    return resize(in, size.first, size.second, config.resample, vision::FixedPoint::kPillow);
  };
  RgbImage resized = image;
  if (config.doResize)
    resized = resizeTo(image, config.longestEdge > 0
                                  ? longestEdgeSize(image.height, image.width, config.longestEdge)
                                  : std::make_pair(config.height, config.width));
  ImageFrames out;
  out.side = side;
  if (!config.doImageSplitting) {
    appendFrame(resizeTo(resized, {side, side}), config, out.pixelValues);
    out.frames = 1;
    return out;
  }
  resized = resizeTo(resized, visionEncoderSize(resized.height, resized.width, side));
  if (resized.height <= side && resized.width <= side) {
    appendFrame(resized, config, out.pixelValues);
    out.frames = 1;
    return out;
  }
  out.rows = (resized.height - side) / side + 1;
  out.cols = (resized.width - side) / side + 1;
  for (int64_t r = 0; r < out.rows; ++r)
    for (int64_t c = 0; c < out.cols; ++c)
      appendFrame(crop(resized, r * side, c * side, side, side), config, out.pixelValues);
  appendFrame(resizeTo(resized, {side, side}), config, out.pixelValues);
  out.frames = out.rows * out.cols + 1;
  return out;
}

absl::StatusOr<ImageTokens> ImageTokens::fromTokenizerConfig(absl::string_view text,
                                                             const std::string &name) {
  MVC_ASSIGN_OR_RETURN(json config,
                       mvc::parseJson<json>(std::string_view(text.data(), text.size()), name));
  ImageTokens tokens;
  if (!config.is_object())
    return absl::InvalidArgumentError(absl::StrCat(name, ": expected a JSON object"));
  // A token is a string or an AddedToken object with its text in "content".
  auto read = [&](const json &object, const char *key, absl::string_view path,
                  std::string &token) -> absl::Status {
    auto it = object.find(key);
    if (it == object.end() || it->is_null())
      return absl::OkStatus();
    const json *content = it->is_object() && it->contains("content") ? &(*it)["content"] : &*it;
    if (!content->is_string() || content->get<std::string>().empty())
      return absl::InvalidArgumentError(
          absl::StrCat(name, ": ", path, key, ": expected a token string, got ", it->dump()));
    token = content->get<std::string>();
    return absl::OkStatus();
  };
  const std::pair<const char *, std::string *> fields[] = {
      {"fake_image_token", &tokens.fakeImageToken},
      {"image_token", &tokens.imageToken},
      {"global_image_token", &tokens.globalImageToken}};
  auto extra = config.find("extra_special_tokens");
  for (auto [key, token] : fields) {
    MVC_RETURN_IF_ERROR(read(config, key, "", *token));
    if (extra != config.end() && extra->is_object())
      MVC_RETURN_IF_ERROR(read(*extra, key, "extra_special_tokens.", *token));
  }
  return tokens;
}

std::string imagePrompt(ImageGrid grid, int64_t imageSeqLen, const ImageTokens &tokens) {
  std::string imageRun;
  for (int64_t i = 0; i < imageSeqLen; ++i)
    imageRun += tokens.imageToken;
  const std::string global =
      absl::StrCat(tokens.fakeImageToken, tokens.globalImageToken, imageRun, tokens.fakeImageToken);
  if (grid.rows == 0 && grid.cols == 0)
    return global;
  std::string out;
  for (int64_t r = 1; r <= grid.rows; ++r) {
    for (int64_t c = 1; c <= grid.cols; ++c)
      absl::StrAppend(&out, tokens.fakeImageToken, "<row_", r, "_col_", c, ">", imageRun);
    out += "\n";
  }
  absl::StrAppend(&out, "\n", global);
  return out;
}

absl::StatusOr<std::string> expandImageMarkers(absl::string_view prompt,
                                               absl::Span<const ImageGrid> images,
                                               int64_t imageSeqLen, const ImageTokens &tokens) {
  const absl::string_view marker = tokens.imageToken;
  size_t markers = 0;
  for (size_t at = prompt.find(marker); at != absl::string_view::npos;
       at = prompt.find(marker, at + marker.size()))
    ++markers;
  if (markers != images.size())
    return absl::InvalidArgumentError(absl::StrCat(
        "the prompt has ", markers, " image marker", markers == 1 ? "" : "s", " (", marker,
        ") but ", images.size(), " image", images.size() == 1 ? " was" : "s were", " given"));
  std::string out;
  size_t from = 0;
  for (const ImageGrid &grid : images) {
    const size_t at = prompt.find(marker, from);
    absl::StrAppend(&out, prompt.substr(from, at - from), imagePrompt(grid, imageSeqLen, tokens));
    from = at + marker.size();
  }
  absl::StrAppend(&out, prompt.substr(from));
  return out;
}

absl::StatusOr<PatchRect> realPatches(absl::Span<const uint8_t> mask, int64_t size,
                                      int64_t patch) {
  if (patch <= 0 || size % patch != 0 || static_cast<int64_t>(mask.size()) != size * size)
    return absl::InvalidArgumentError(absl::StrCat("a pixel attention mask of ", mask.size(),
                                                   " values for a ", size, " x ", size,
                                                   " frame of ", patch, "-pixel patches"));
  const int64_t n = size / patch;
  std::vector<uint8_t> real(static_cast<size_t>(n * n), 0);
  for (int64_t y = 0; y < size; ++y)
    for (int64_t x = 0; x < size; ++x)
      if (mask[static_cast<size_t>(y * size + x)] != 0)
        real[static_cast<size_t>((y / patch) * n + x / patch)] = 1;
  PatchRect rect;
  while (rect.rows < n && real[static_cast<size_t>(rect.rows * n)]) ++rect.rows;
  while (rect.cols < n && real[static_cast<size_t>(rect.cols)]) ++rect.cols;
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < n; ++j)
      if ((real[static_cast<size_t>(i * n + j)] != 0) != (i < rect.rows && j < rect.cols))
        return absl::InvalidArgumentError(absl::StrCat(
            "the pixel attention mask's image patches must form a rectangle at the top left "
            "(an image padded at the bottom and right); patch (", i, ", ", j, ") of the ", n,
            " x ", n, " grid is ", real[static_cast<size_t>(i * n + j)] ? "image" : "padding",
            " but row 0 has ", rect.cols, " image patches and column 0 has ", rect.rows));
  if (rect.rows == 0)
    return absl::InvalidArgumentError("the pixel attention mask has no image pixel");
  return rect;
}

namespace {

/// torch.arange(1/n, 1.0, 1/n) in float32 as torch 2.x computes it on the CPU:
/// ceil((1 - 1/n) / (1/n)) values in double, start + step · i, rounded to float, except
/// that the first count - count % 16 come from vectors of 8 that start at a float base:
/// float(float(start + step · b) + step · k), b = i - i % 8, k = i - b. (Checked against
/// torch for every n < 300; the correctly rounded i/n differ from it for n = 19 and 50.)
std::vector<float> torchBoundaries(int64_t n) {
  const double step = 1.0 / static_cast<double>(n);
  const int64_t count = static_cast<int64_t>(std::ceil((1.0 - step) / step));
  const int64_t vectorized = count - count % 16;
  std::vector<float> boundaries;
  for (int64_t i = 0; i < count; ++i) {
    if (i < vectorized) {
      const int64_t base = i - i % 8;
      const float from = static_cast<float>(step + step * static_cast<double>(base));
      boundaries.push_back(
          static_cast<float>(static_cast<double>(from) + step * static_cast<double>(i - base)));
    } else {
      boundaries.push_back(static_cast<float>(step + step * static_cast<double>(i)));
    }
  }
  return boundaries;
}

/// The buckets of the fractional coordinates i · (1/real) (float32, clamped below 1) of
/// i in [0, real): how many boundaries lie at or below each (torch.bucketize, right=True).
std::vector<int32_t> buckets(const std::vector<float> &boundaries, int64_t real) {
  const float step = 1.0f / static_cast<float>(real);
  const float top = static_cast<float>(1.0 - 1e-6);
  std::vector<int32_t> out;
  for (int64_t i = 0; i < real; ++i) {
    const float x = std::min(static_cast<float>(i) * step, top);
    out.push_back(static_cast<int32_t>(
        std::upper_bound(boundaries.begin(), boundaries.end(), x) - boundaries.begin()));
  }
  return out;
}

} // namespace

std::vector<int32_t> patchPositionIds(int64_t n, PatchRect real) {
  const std::vector<float> boundaries = torchBoundaries(n);
  const std::vector<int32_t> rows = buckets(boundaries, real.rows);
  const std::vector<int32_t> cols = buckets(boundaries, real.cols);
  std::vector<int32_t> ids(static_cast<size_t>(n * n), 0);
  for (int64_t i = 0; i < real.rows; ++i)
    for (int64_t j = 0; j < real.cols; ++j)
      ids[static_cast<size_t>(i * n + j)] = rows[i] * static_cast<int32_t>(n) + cols[j];
  return ids;
}

} // namespace mvc::idefics3
