//===- ProcessorConfigFields.cpp - typed keys of preprocessor_config.json -===//
#include "runtime/vision/ProcessorConfigFields.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "runtime/vision/ImageProcessor.h"

namespace mvc::vision {

namespace {

using nlohmann::json;

absl::Status keyError(absl::string_view key, absl::string_view message) {
  return absl::InvalidArgumentError(absl::StrCat(key, ": ", message));
}

/// The key's value, or nullptr if it is absent or null.
const json *find(const json &config, const char *key) {
  auto it = config.find(key);
  return it == config.end() || it->is_null() ? nullptr : &*it;
}

} // namespace

absl::StatusOr<bool> configFlag(const json &config, const char *key, bool byDefault) {
  const json *value = find(config, key);
  if (!value)
    return byDefault;
  if (!value->is_boolean())
    return keyError(key, absl::StrCat("expected true or false, got ", value->dump()));
  return value->get<bool>();
}

absl::StatusOr<double> configNumber(const json &config, const char *key, double byDefault) {
  const json *value = find(config, key);
  if (!value)
    return byDefault;
  if (!value->is_number())
    return keyError(key, absl::StrCat("expected a number, got ", value->dump()));
  return value->get<double>();
}

absl::StatusOr<std::array<double, 3>> configPerChannel(const json &config, const char *key,
                                                       std::array<double, 3> byDefault) {
  const json *value = find(config, key);
  if (!value)
    return byDefault;
  if (value->is_number())
    return std::array<double, 3>{value->get<double>(), value->get<double>(),
                                 value->get<double>()};
  if (!value->is_array() || value->size() != 3 ||
      !std::all_of(value->begin(), value->end(), [](const json &v) { return v.is_number(); }))
    return keyError(key, absl::StrCat("expected a number or 3 numbers, got ", value->dump()));
  return std::array<double, 3>{(*value)[0].get<double>(), (*value)[1].get<double>(),
                               (*value)[2].get<double>()};
}

absl::StatusOr<int64_t> configPositive(const json &object, const char *key,
                                       absl::string_view path) {
  auto it = object.find(key);
  if (it == object.end())
    return keyError(path, absl::StrCat("has no \"", key, "\""));
  if (!it->is_number_integer() || it->get<int64_t>() <= 0)
    return keyError(absl::StrCat(path, ".", key),
                    absl::StrCat("expected a positive integer, got ", it->dump()));
  return it->get<int64_t>();
}

absl::StatusOr<ResampleFilter> configResample(const json &config, ResampleFilter byDefault) {
  const json *value = find(config, "resample");
  if (!value)
    return byDefault;
  if (!value->is_number_integer())
    return keyError("resample", absl::StrCat("expected a PIL filter number, got ", value->dump()));
  return resampleFilterFromPil(value->get<int>());
}

absl::Status configPixelFields(const json &config, ImageProcessorConfig &p) {
  for (auto [key, field] : {std::pair<const char *, bool *>{"do_resize", &p.doResize},
                            {"do_rescale", &p.doRescale},
                            {"do_normalize", &p.doNormalize}}) {
    absl::StatusOr<bool> v = configFlag(config, key, *field);
    if (!v.ok()) return v.status();
    *field = *v;
  }
  absl::StatusOr<double> rescale = configNumber(config, "rescale_factor", p.rescaleFactor);
  if (!rescale.ok()) return rescale.status();
  p.rescaleFactor = *rescale;
  absl::StatusOr<std::array<double, 3>> mean = configPerChannel(config, "image_mean", p.imageMean);
  if (!mean.ok()) return mean.status();
  p.imageMean = *mean;
  absl::StatusOr<std::array<double, 3>> stdev = configPerChannel(config, "image_std", p.imageStd);
  if (!stdev.ok()) return stdev.status();
  p.imageStd = *stdev;
  absl::StatusOr<ResampleFilter> resample = configResample(config, p.resample);
  if (!resample.ok()) return resample.status();
  p.resample = *resample;
  return absl::OkStatus();
}

} // namespace mvc::vision
