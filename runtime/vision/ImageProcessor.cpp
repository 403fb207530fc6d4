//===- ImageProcessor.cpp - preprocessor_config.json to pixel_values -------===//
#include "runtime/vision/ImageProcessor.h"
#include "runtime/vision/ProcessorConfigFields.h"
#include "runtime/util/Json.h"
#include "runtime/util/Files.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "runtime/util/StatusMacros.h"

namespace mvc::vision {

namespace {

using nlohmann::json;

absl::StatusOr<ImageProcessorConfig> parseJson(const json &config) {
  ImageProcessorConfig out;
  MVC_ASSIGN_OR_RETURN(bool panAndScan, configFlag(config, "do_pan_and_scan", false));
  if (panAndScan) {
    PanAndScan &pas = out.panAndScan.emplace();
    if (auto it = config.find("pan_and_scan_min_crop_size"); it != config.end() && !it->is_null())
      pas.minCropSize = it->get<int64_t>();
    if (auto it = config.find("pan_and_scan_max_num_crops"); it != config.end() && !it->is_null())
      pas.maxNumCrops = it->get<int64_t>();
    if (auto it = config.find("pan_and_scan_min_ratio_to_activate");
        it != config.end() && !it->is_null())
      pas.minRatioToActivate = it->get<double>();
    if (pas.minCropSize <= 0 || pas.maxNumCrops < 2)
      return absl::InvalidArgumentError(
          "pan_and_scan_min_crop_size must be positive and pan_and_scan_max_num_crops >= 2");
  }
  MVC_ASSIGN_OR_RETURN(out.doResize, configFlag(config, "do_resize", true));
  out.doResize = out.doResize || out.panAndScan.has_value();
  if (out.doResize) {
    auto size = config.find("size");
    if (size == config.end() || !size->contains("height") || !size->contains("width"))
      return absl::InvalidArgumentError("size must have height and width");
    out.height = (*size)["height"].get<int64_t>();
    out.width = (*size)["width"].get<int64_t>();
    if (out.height <= 0 || out.width <= 0)
      return absl::InvalidArgumentError("size must be positive");
  }
  MVC_ASSIGN_OR_RETURN(out.resample, configResample(config, out.resample));
  // Resample reproduces PIL's LANCZOS only; this processor runs torch's arithmetic.
  if (out.resample == ResampleFilter::kLanczos)
    return absl::UnimplementedError("resample 1 (lanczos) is not supported by this processor");
  MVC_ASSIGN_OR_RETURN(out.doRescale, configFlag(config, "do_rescale", true));
  MVC_ASSIGN_OR_RETURN(out.rescaleFactor, configNumber(config, "rescale_factor", out.rescaleFactor));
  MVC_ASSIGN_OR_RETURN(out.doNormalize, configFlag(config, "do_normalize", true));
  MVC_ASSIGN_OR_RETURN(out.imageMean, configPerChannel(config, "image_mean", out.imageMean));
  MVC_ASSIGN_OR_RETURN(out.imageStd, configPerChannel(config, "image_std", out.imageStd));
  return out;
}

} // namespace

absl::StatusOr<ImageProcessorConfig> ImageProcessorConfig::parse(const std::string &text,
                                                                 const std::string &name) {
  absl::StatusOr<json> parsed = mvc::parseJson<json>(text, name);
  if (!parsed.ok()) return parsed.status();
  absl::StatusOr<ImageProcessorConfig> config;
  try {
    config = parseJson(*parsed);
  } catch (const json::exception &e) {
    config = absl::InvalidArgumentError(e.what());
  }
  if (!config.ok())
    return absl::Status(config.status().code(),
                        absl::StrCat(name, ": ", config.status().message()));
  return config;
}

absl::StatusOr<ImageProcessorConfig> ImageProcessorConfig::load(const std::string &path) {
  absl::StatusOr<std::string> text = readInputFile(path, "image processor config");
  if (!text.ok()) return text.status();
  return parse(*text, path);
}

std::vector<float> toPixelValues(const RgbImage &image, const ImageProcessorConfig &config) {
  const RgbImage resized =
      config.doResize
          ? resize(image, config.height, config.width, config.resample, config.arithmetic)
          : image;
  // torchvision's backend folds the rescale into the normalization: (x - mean/r) / (std/r),
  // both constants rounded to float32. The same float32 operations give the same bits.
  std::array<float, 3> shift{}, divisor{}; // x -> (x - shift) / divisor, or x * rescale
  for (int c = 0; c < 3; ++c) {
    const float inverse = config.doRescale ? float(1.0 / config.rescaleFactor) : 1.0f;
    shift[c] = config.doNormalize ? float(config.imageMean[c]) * inverse : 0.0f;
    divisor[c] = config.doNormalize ? float(config.imageStd[c]) * inverse : 1.0f;
  }
  const bool rescaleOnly = config.doRescale && !config.doNormalize;
  const int64_t plane = resized.height * resized.width;
  std::vector<float> out(3 * plane);
  for (int64_t i = 0; i < plane; ++i)
    for (int c = 0; c < 3; ++c) {
      const float x = resized.pixels[i * 3 + c];
      out[c * plane + i] =
          rescaleOnly ? x * float(config.rescaleFactor) : (x - shift[c]) / divisor[c];
    }
  return out;
}

std::vector<RgbImage> panAndScanCrops(const RgbImage &image, const PanAndScan &options) {
  const bool landscape = image.width >= image.height;
  const int64_t longSide = landscape ? image.width : image.height;
  const int64_t shortSide = landscape ? image.height : image.width;
  const double ratio = double(longSide) / double(shortSide);
  if (ratio < options.minRatioToActivate)
    return {};
  int64_t crops = int64_t(std::floor(ratio + 0.5));
  crops = std::min(int64_t(std::floor(double(longSide) / double(options.minCropSize))), crops);
  crops = std::min(options.maxNumCrops, std::max<int64_t>(2, crops));
  const int64_t cropsW = landscape ? crops : 1, cropsH = landscape ? 1 : crops;
  const int64_t cropW = (image.width + cropsW - 1) / cropsW;
  const int64_t cropH = (image.height + cropsH - 1) / cropsH;
  if (std::min(cropW, cropH) < options.minCropSize)
    return {};
  std::vector<RgbImage> out;
  for (int64_t r = 0; r < cropsH; ++r) {
    for (int64_t c = 0; c < cropsW; ++c) {
      const int64_t y0 = r * cropH, x0 = c * cropW;
      RgbImage crop{std::min(cropH, image.height - y0), std::min(cropW, image.width - x0), {}};
      crop.pixels.resize(crop.height * crop.width * 3);
      for (int64_t y = 0; y < crop.height; ++y)
        std::memcpy(crop.at(y, 0), image.at(y0 + y, x0), crop.width * 3);
      out.push_back(std::move(crop));
    }
  }
  return out;
}

ProcessedImage preprocess(const RgbImage &image, const ImageProcessorConfig &config) {
  ProcessedImage out{toPixelValues(image, config), 0};
  if (!config.panAndScan)
    return out;
  for (const RgbImage &crop : panAndScanCrops(image, *config.panAndScan)) {
    std::vector<float> values = toPixelValues(crop, config);
    out.pixelValues.insert(out.pixelValues.end(), values.begin(), values.end());
    ++out.numCrops;
  }
  return out;
}

} // namespace mvc::vision
