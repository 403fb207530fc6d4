//===- Decode.cpp - format sniffing, file reading, limits ------------------===//
#include "runtime/vision/Decode.h"
#include "runtime/util/Files.h"

#include <cstring>
#include <fstream>
#include <iterator>

#include "absl/strings/str_cat.h"

namespace mvc::vision {

namespace {

bool startsWith(absl::Span<const uint8_t> bytes, const char *magic, size_t size) {
  return bytes.size() >= size && std::memcmp(bytes.data(), magic, size) == 0;
}

} // namespace

absl::Status detail::checkDimensions(int64_t height, int64_t width, const DecodeLimits &limits) {
  if (height <= 0 || width <= 0)
    return absl::InvalidArgumentError(absl::StrCat("image is empty (", width, "x", height, ")"));
  if (height > limits.maxPixels / width)
    return absl::ResourceExhaustedError(absl::StrCat("image is ", width, "x", height,
                                                     ", more than the limit of ",
                                                     limits.maxPixels, " pixels"));
  return absl::OkStatus();
}

absl::StatusOr<RgbImage> decodeImage(absl::Span<const uint8_t> bytes, const std::string &name,
                                     const DecodeLimits &limits) {
  absl::StatusOr<RgbImage> image;
  if (startsWith(bytes, "\xff\xd8\xff", 3))
    image = detail::decodeJpeg(bytes, limits);
  else if (startsWith(bytes, "\x89PNG\r\n\x1a\n", 8))
    image = detail::decodePng(bytes, limits);
  else if (bytes.empty())
    image = absl::InvalidArgumentError("the file is empty");
  else
    image = absl::InvalidArgumentError("not a JPEG or PNG file (the only formats supported)");
  if (!image.ok())
    return absl::Status(image.status().code(),
                        absl::StrCat(name, ": ", image.status().message()));
  return image;
}

absl::StatusOr<RgbImage> loadImage(const std::string &path, const DecodeLimits &limits) {
  absl::StatusOr<std::string> contents = readInputFile(path, "image", kMaxBinaryInputBytes);
  if (!contents.ok()) return contents.status();
  std::vector<uint8_t> bytes(contents->begin(), contents->end());
  return decodeImage(bytes, path, limits);
}

} // namespace mvc::vision
