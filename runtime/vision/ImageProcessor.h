//===- ImageProcessor.h - preprocessor_config.json to pixel_values ---------===//
//
// Gemma3ImageProcessor: optional pan-and-scan crops, resize to a fixed size, rescale,
// normalize, CHW float32. The resize-rescale-normalize part is what the other families'
// processors build on.
//
//===----------------------------------------------------------------------===//
#ifndef MVC_RUNTIME_VISION_IMAGEPROCESSOR_H
#define MVC_RUNTIME_VISION_IMAGEPROCESSOR_H

#include <array>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "runtime/vision/Image.h"
#include "runtime/vision/Resample.h"

namespace mvc::vision {

/// Gemma 3 pan-and-scan: an image whose aspect ratio is at least minRatioToActivate is also
/// cut into 2..maxNumCrops crops along its long side. Defaults are Gemma3Processor's (the
/// checkpoints' preprocessor_config.json leaves them null).
struct PanAndScan {
  int64_t minCropSize = 256;
  int64_t maxNumCrops = 4;
  double minRatioToActivate = 1.2;
};

struct ImageProcessorConfig {
  std::optional<PanAndScan> panAndScan; // set when do_pan_and_scan is true
  bool doResize = true;
  int64_t height = 0;
  int64_t width = 0;
  ResampleFilter resample = ResampleFilter::kBilinear;
  bool doRescale = true;
  double rescaleFactor = 1.0 / 255.0;
  bool doNormalize = true;
  std::array<double, 3> imageMean = {0.5, 0.5, 0.5};
  std::array<double, 3> imageStd = {0.5, 0.5, 0.5};
  /// transformers' default backend for Gemma3ImageProcessor is torchvision (when it is
  /// installed, which the reference setup has); FixedPoint::kPillow matches the PIL one.
  FixedPoint arithmetic = FixedPoint::kTorchUint8;

  /// Parses the text of a preprocessor_config.json; `name` is used in error messages.
  static absl::StatusOr<ImageProcessorConfig> parse(const std::string &json,
                                                    const std::string &name);
  static absl::StatusOr<ImageProcessorConfig> load(const std::string &path);
};

/// pixel_values of one image: float32 [3, height, width] (the image's own size when
/// doResize is false), as the HF processor computes them.
std::vector<float> toPixelValues(const RgbImage &image, const ImageProcessorConfig &config);

/// The pan-and-scan crops of `image`, row-major; empty when it is not elongated enough or
/// the crops would be smaller than minCropSize. The last crop is narrower (or shorter) when
/// the side does not divide evenly, as HF's slicing makes it.
std::vector<RgbImage> panAndScanCrops(const RgbImage &image, const PanAndScan &options);

/// What the processor makes of one image: the image and then its crops, each
/// [3, height, width], concatenated (pixel_values rows), and the number of crops
/// (num_crops).
struct ProcessedImage {
  std::vector<float> pixelValues;
  int64_t numCrops = 0;
};
ProcessedImage preprocess(const RgbImage &image, const ImageProcessorConfig &config);

} // namespace mvc::vision

#endif // MVC_RUNTIME_VISION_IMAGEPROCESSOR_H
