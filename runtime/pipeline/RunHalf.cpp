//===- RunHalf.cpp - the defaults: a text-only language model -------------===//
#include "runtime/pipeline/RunHalf.h"

#include <cstring>
#include <string>
#include <tuple>

#include "absl/hash/hash.h"
#include "absl/strings/str_cat.h"

namespace mvc {

namespace {

absl::Status noImages() {
  return absl::InvalidArgumentError("the model takes no images (it is a text-only model)");
}

} // namespace

RunHalf::~RunHalf() = default;

uint64_t frameContentHash(const ImageFrame &frame) {
  uint64_t hash = 0x6d76636672616d65ull; // "mvcframe"
  for (const HostTensor *tensor : {&frame.pixels, &frame.pixelMask}) {
    std::string shape;
    for (int64_t dim : tensor->shape())
      absl::StrAppend(&shape, dim, ",");
    const absl::string_view bytes(reinterpret_cast<const char *>(tensor->data()),
                                  tensor->data() ? tensor->byteSize() : 0);
    hash = absl::Hash<std::tuple<uint64_t, std::string, int, absl::string_view>>{}(
        {hash, shape, static_cast<int>(tensor->dtype()), bytes});
  }
  return hash == 0 ? 1 : hash;
}

void RunHalf::keepVisionFeatures(uint64_t bytes) {
  featureCache = bytes > 0 ? std::make_unique<FeatureCache>(bytes) : nullptr;
}

std::string RunHalf::imageMarker(const text::Tokenizer &) const { return ""; }

absl::StatusOr<PreparedImage> RunHalf::prepareImage(const vision::RgbImage &, ImageSplitting) const {
  return noImages();
}

absl::StatusOr<PreparedImage> RunHalf::prepareVideo(vision::VideoSource &) const {
  return absl::InvalidArgumentError("this model takes no videos");
}

absl::StatusOr<PreparedImage> RunHalf::imageFromPixels(const HostTensor &,
                                                       const HostTensor *) const {
  return noImages();
}

absl::StatusOr<std::string> RunHalf::expandImages(absl::string_view text,
                                                  absl::Span<const PreparedImage> images,
                                                  const text::Tokenizer &) const {
  if (!images.empty())
    return noImages();
  return std::string(text);
}

absl::Status RunHalf::checkPrompt(absl::Span<const int32_t>,
                                  absl::Span<const ImageFrame> images) const {
  if (!images.empty())
    return noImages();
  return absl::OkStatus();
}

HostTensor i32Tensor(absl::Span<const int32_t> values, std::vector<int64_t> shape) {
  HostTensor tensor = HostTensor::allocate(DType::I32, std::move(shape));
  if (!values.empty())
    std::memcpy(tensor.data(), values.data(), values.size() * sizeof(int32_t));
  return tensor;
}

} // namespace mvc
