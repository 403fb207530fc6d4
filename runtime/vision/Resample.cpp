//===- Resample.cpp - PIL's antialiased resampling -------------------------===//
#include "runtime/vision/Resample.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "absl/strings/str_cat.h"

namespace mvc::vision {

namespace {

double bilinear(double x) {
  x = std::fabs(x);
  return x < 1.0 ? 1.0 - x : 0.0;
}

/// Keys' cubic with a = -0.5, as PIL's BICUBIC.
double bicubic(double x) {
  constexpr double a = -0.5;
  x = std::fabs(x);
  if (x < 1.0)
    return ((a + 2.0) * x - (a + 3.0)) * x * x + 1.0;
  if (x < 2.0)
    return (((x - 5.0) * x + 8.0) * x - 4.0) * a;
  return 0.0;
}

/// PIL's LANCZOS: sinc windowed by a 3-lobe sinc, support 3 (zero outside [-3, 3)).
double lanczos(double x) {
  auto sinc = [](double t) {
    if (t == 0.0)
      return 1.0;
    t *= 3.14159265358979323846; // M_PI, as PIL writes it
    return std::sin(t) / t;
  };
  return -3.0 <= x && x < 3.0 ? sinc(x) * sinc(x / 3.0) : 0.0;
}

/// How far from its center the filter is nonzero, before widening for downscaling.
double filterSupport(ResampleFilter filter) {
  switch (filter) {
  case ResampleFilter::kLanczos:
    return 3.0;
  case ResampleFilter::kBilinear:
    return 1.0;
  case ResampleFilter::kBicubic:
    return 2.0;
  }
  return 0.0;
}

double filterValue(ResampleFilter filter, double x) {
  switch (filter) {
  case ResampleFilter::kLanczos:
    return lanczos(x);
  case ResampleFilter::kBilinear:
    return bilinear(x);
  case ResampleFilter::kBicubic:
    return bicubic(x);
  }
  return 0.0;
}

/// For each output index, the first input index it reads and its integer weights.
struct AxisWeights {
  std::vector<int64_t> first;
  std::vector<int64_t> count;
  std::vector<int32_t> weights; // outSize * taps, zero-padded
  int64_t taps = 0;
  int precision = 0; // fraction bits of the weights
};

/// PIL's precompute_coeffs (double weights, normalized per output), then fixed point.
AxisWeights computeWeights(int64_t inSize, int64_t outSize, ResampleFilter filter,
                           FixedPoint arithmetic) {
  const double scale = double(inSize) / double(outSize);
  const double filterScale = std::max(scale, 1.0);
  const double support = filterSupport(filter) * filterScale;
  const double inverseFilterScale = 1.0 / filterScale; // PIL multiplies by it; so must we
  AxisWeights axis;
  axis.taps = int64_t(std::ceil(support)) * 2 + 1;
  axis.first.resize(outSize);
  axis.count.resize(outSize);
  std::vector<double> real(outSize * axis.taps, 0.0);
  double largest = 0.0;
  for (int64_t out = 0; out < outSize; ++out) {
    const double center = (double(out) + 0.5) * scale;
    const int64_t lo = std::max<int64_t>(int64_t(center - support + 0.5), 0);
    const int64_t hi = std::min<int64_t>(int64_t(center + support + 0.5), inSize);
    double *w = &real[out * axis.taps];
    double total = 0.0;
    for (int64_t i = lo; i < hi; ++i) {
      const double x = (double(i) - center + 0.5) * inverseFilterScale;
      w[i - lo] = filterValue(filter, x);
      total += w[i - lo];
    }
    for (int64_t i = 0; i < hi - lo && total != 0.0; ++i) {
      w[i] /= total;
      largest = std::max(largest, w[i]);
    }
    axis.first[out] = lo;
    axis.count[out] = hi - lo;
  }
  if (arithmetic == FixedPoint::kPillow) {
    axis.precision = 32 - 8 - 2;
  } else {
    // torch (UpSampleKernelAVXAntialias): the most bits for which the largest weight,
    // rounded, still fits an int16 with a spare bit; at most 22.
    for (axis.precision = 0; axis.precision < 22; ++axis.precision)
      if (int64_t(0.5 + largest * double(1 << (axis.precision + 1))) >= (1 << 15))
        break;
  }
  axis.weights.resize(real.size());
  const double one = double(int64_t(1) << axis.precision);
  for (size_t i = 0; i < real.size(); ++i)
    axis.weights[i] = int32_t(real[i] < 0 ? std::trunc(-0.5 + real[i] * one)
                                          : std::trunc(0.5 + real[i] * one));
  return axis;
}

uint8_t clampToByte(int64_t sum, int precision) {
  return uint8_t(std::clamp<int64_t>(sum >> precision, 0, 255));
}

RgbImage resizeWidth(const RgbImage &in, int64_t width, const AxisWeights &axis) {
  RgbImage out{in.height, width, std::vector<uint8_t>(in.height * width * 3)};
  const int64_t half = int64_t(1) << (axis.precision - 1);
  for (int64_t y = 0; y < in.height; ++y)
    for (int64_t x = 0; x < width; ++x)
      for (int c = 0; c < 3; ++c) {
        int64_t sum = half;
        for (int64_t k = 0; k < axis.count[x]; ++k)
          sum += int64_t(in.at(y, axis.first[x] + k)[c]) * axis.weights[x * axis.taps + k];
        out.at(y, x)[c] = clampToByte(sum, axis.precision);
      }
  return out;
}

RgbImage resizeHeight(const RgbImage &in, int64_t height, const AxisWeights &axis) {
  RgbImage out{height, in.width, std::vector<uint8_t>(height * in.width * 3)};
  const int64_t half = int64_t(1) << (axis.precision - 1);
  for (int64_t y = 0; y < height; ++y)
    for (int64_t x = 0; x < in.width; ++x)
      for (int c = 0; c < 3; ++c) {
        int64_t sum = half;
        for (int64_t k = 0; k < axis.count[y]; ++k)
          sum += int64_t(in.at(axis.first[y] + k, x)[c]) * axis.weights[y * axis.taps + k];
        out.at(y, x)[c] = clampToByte(sum, axis.precision);
      }
  return out;
}

} // namespace

absl::StatusOr<ResampleFilter> resampleFilterFromPil(int value) {
  switch (value) {
  case int(ResampleFilter::kLanczos):
    return ResampleFilter::kLanczos;
  case int(ResampleFilter::kBilinear):
    return ResampleFilter::kBilinear;
  case int(ResampleFilter::kBicubic):
    return ResampleFilter::kBicubic;
  default:
    return absl::UnimplementedError(absl::StrCat(
        "resample ", value, " is not supported (only 1 = lanczos, 2 = bilinear and 3 = bicubic)"));
  }
}

RgbImage resize(const RgbImage &image, int64_t height, int64_t width, ResampleFilter filter,
                FixedPoint arithmetic) {
  // Rounding to uint8 between the passes makes their order matter. torch runs the
  // horizontal pass first; Pillow >= 13 too, unless the height shrinks by more than twice
  // as many pixels as the width (python-pillow/Pillow#9549; older Pillow: always).
  const int64_t heightLoss = image.height - height, widthLoss = image.width - width;
  const bool verticalFirst =
      arithmetic == FixedPoint::kPillow && heightLoss > 0 && heightLoss > 2 * widthLoss;
  // Like PIL, an axis whose size does not change is not filtered at all.
  RgbImage out = image;
  auto horizontal = [&] {
    if (width != image.width)
      out = resizeWidth(out, width, computeWeights(image.width, width, filter, arithmetic));
  };
  auto vertical = [&] {
    if (height != image.height)
      out = resizeHeight(out, height, computeWeights(image.height, height, filter, arithmetic));
  };
  if (verticalFirst) {
    vertical();
    horizontal();
  } else {
    horizontal();
    vertical();
  }
  return out;
}

} // namespace mvc::vision
