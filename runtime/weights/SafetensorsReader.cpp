//===- SafetensorsReader.cpp ----------------------------------------------===//
#include "runtime/weights/SafetensorsReader.h"
#include "runtime/util/Json.h"
#include "runtime/util/Files.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <set>
#include <sstream>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "nlohmann/json.hpp"
#include "runtime/util/StatusMacros.h"

namespace mvc {

using Json = nlohmann::json;

namespace {

/// The safetensors reference implementation refuses headers above 100 MB; so do we.
constexpr uint64_t kMaxHeaderBytes = 100'000'000;
/// An index lists tensor and file names only; anything this large is not an index.
constexpr uint64_t kMaxIndexBytes = 100'000'000;
constexpr absl::string_view kIndexName = "model.safetensors.index.json";
constexpr absl::string_view kSingleFileName = "model.safetensors";

absl::Status invalid(absl::string_view file, absl::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat(file, ": ", what));
}
absl::Status invalidTensor(absl::string_view file, absl::string_view tensor,
                           absl::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat(file, ": tensor '", tensor, "': ", what));
}

/// Parses `text` as a JSON object whose objects have no repeated keys (nlohmann would keep
/// one of them silently, and a repeated tensor name is a lie about the file).
absl::StatusOr<Json> parseJsonObject(absl::string_view text, absl::string_view file,
                                     absl::string_view what) {
  std::vector<std::set<std::string>> openObjects;
  std::string duplicate;
  bool tooDeep = false;
  auto rejectDuplicates = [&](int depth, Json::parse_event_t event, Json &parsed) {
    // A header holds {name: {dtype, shape, data_offsets}}; refuse hostile nesting.
    if (depth >= kMaxJsonDepth) tooDeep = true;
    if (tooDeep) return false;
    if (event == Json::parse_event_t::object_start) {
      openObjects.emplace_back();
    } else if (event == Json::parse_event_t::object_end) {
      openObjects.pop_back();
    } else if (event == Json::parse_event_t::key) {
      const std::string &key = parsed.get_ref<const std::string &>();
      if (!openObjects.back().insert(key).second && duplicate.empty())
        duplicate = key;
    }
    return true;
  };
  Json json;
  try {
    json = Json::parse(text.begin(), text.end(), rejectDuplicates);
  } catch (const Json::exception &error) {
    if (tooDeep)
      return invalid(file, absl::StrCat(what, " is nested deeper than ", kMaxJsonDepth, " levels"));
    return invalid(file, absl::StrCat(what, " is not valid JSON: ", error.what()));
  }
  if (tooDeep)
    return invalid(file, absl::StrCat(what, " is nested deeper than ", kMaxJsonDepth, " levels"));
  if (!duplicate.empty())
    return invalid(file, absl::StrCat(what, " repeats the key '", duplicate, "'"));
  if (!json.is_object())
    return invalid(file, absl::StrCat(what, " is not a JSON object"));
  return json;
}

absl::StatusOr<DType> parseDTypeName(const Json &value, absl::string_view file,
                                     absl::string_view tensor) {
  if (!value.is_string())
    return invalidTensor(file, tensor, "'dtype' is not a string");
  const std::string &name = value.get_ref<const std::string &>();
  if (name == "F32")
    return DType::F32;
  if (name == "F16")
    return DType::F16;
  if (name == "BF16")
    return DType::BF16;
  return invalid(file, absl::StrCat("unsupported dtype ", name, " for tensor '", tensor,
                                    "' (mvc reads F32, F16 and BF16)"));
}

/// A JSON array of non-negative integers that each fit in int64.
absl::StatusOr<std::vector<uint64_t>> parseCounts(const Json &value, absl::string_view file,
                                                  absl::string_view tensor,
                                                  absl::string_view field) {
  if (!value.is_array())
    return invalidTensor(file, tensor, absl::StrCat("'", field, "' is not an array"));
  std::vector<uint64_t> counts;
  for (size_t i = 0; i < value.size(); ++i) {
    const Json &item = value[i];
    if (!item.is_number_unsigned() ||
        item.get<uint64_t>() > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
      return invalidTensor(
          file, tensor,
          absl::StrCat(field, "[", i, "] is ", item.dump(), ", expected a non-negative integer"));
    counts.push_back(item.get<uint64_t>());
  }
  return counts;
}

} // namespace

int64_t SafetensorsTensor::numElements() const {
  int64_t count = 1;
  for (int64_t dim : shape)
    count *= dim;
  return count;
}

SafetensorsReader::SafetensorsReader(std::string path) : sourcePath(std::move(path)) {}
SafetensorsReader::~SafetensorsReader() = default;

absl::StatusOr<std::unique_ptr<SafetensorsReader>>
SafetensorsReader::open(const std::string &path) {
  namespace fs = std::filesystem;
  std::error_code error;
  std::string resolved = path;
  if (fs::is_directory(path, error)) {
    fs::path index = fs::path(path) / std::string(kIndexName);
    fs::path single = fs::path(path) / std::string(kSingleFileName);
    if (fs::exists(index, error))
      resolved = index.string();
    else if (fs::exists(single, error))
      resolved = single.string();
    else
      return absl::NotFoundError(
          absl::StrCat(path, ": neither ", kIndexName, " nor ", kSingleFileName, " is here"));
  }
  std::unique_ptr<SafetensorsReader> reader(new SafetensorsReader(resolved));
  if (absl::EndsWith(resolved, ".json")) {
    MVC_RETURN_IF_ERROR(reader->openIndex(resolved));
  } else {
    MVC_ASSIGN_OR_RETURN(TensorList parsed, reader->addFile(resolved));
    for (auto &[name, info] : parsed)
      reader->tensors.emplace(std::move(name), std::move(info));
  }
  return reader;
}

absl::Status SafetensorsReader::openIndex(const std::string &indexPath) {
  std::error_code error;
  uintmax_t indexSize = std::filesystem::file_size(indexPath, error);
  if (error)
    return absl::NotFoundError(absl::StrCat(indexPath, ": cannot open: ", error.message()));
  if (indexSize > kMaxIndexBytes)
    return invalid(indexPath, absl::StrCat("index is ", indexSize,
                                           " bytes, more than the limit of ", kMaxIndexBytes));
  MVC_ASSIGN_OR_RETURN(std::string text, readInputFile(indexPath, "safetensors index"));
  MVC_ASSIGN_OR_RETURN(Json index, parseJsonObject(text, indexPath, "index"));
  auto weightMap = index.find("weight_map");
  if (weightMap == index.end() || !weightMap->is_object())
    return invalid(indexPath, "'weight_map' is missing or not an object");

  // Shard file name -> the tensors the index puts in it.
  std::map<std::string, std::set<std::string>> shards;
  for (auto entry = weightMap->begin(); entry != weightMap->end(); ++entry) {
    if (!entry.value().is_string())
      return invalid(indexPath,
                     absl::StrCat("weight_map['", entry.key(), "'] is not a file name string"));
    const std::string &shard = entry.value().get_ref<const std::string &>();
    // Shards live beside the index: a path would let a checkpoint read any file.
    if (shard.empty() || shard == "." || shard == ".." || shard.find('/') != std::string::npos)
      return invalid(indexPath, absl::StrCat("weight_map['", entry.key(), "'] names '", shard,
                                             "', which is not a file name in this directory"));
    shards[shard].insert(entry.key());
  }

  std::filesystem::path directory = std::filesystem::path(indexPath).parent_path();
  for (const auto &[shard, names] : shards) {
    absl::StatusOr<TensorList> parsed = addFile((directory / shard).string());
    if (absl::IsNotFound(parsed.status()))
      return absl::NotFoundError(absl::StrCat(indexPath, ": shard '", shard, "' (holding '",
                                              *names.begin(), "' and ", names.size() - 1,
                                              " more): ", parsed.status().message()));
    MVC_RETURN_IF_ERROR(parsed.status());
    const std::string &shardPath = files.back()->path();
    for (const auto &[tensor, info] : *parsed) {
      if (names.count(tensor))
        continue;
      auto listed = weightMap->find(tensor);
      if (listed == weightMap->end())
        return invalidTensor(shardPath, tensor,
                             absl::StrCat("present, but ", indexPath, " does not list it"));
      return invalidTensor(shardPath, tensor,
                           absl::StrCat("present, but ", indexPath, " maps it to '",
                                        listed->get_ref<const std::string &>(), "'"));
    }
    for (auto &[tensor, info] : *parsed)
      tensors.emplace(std::move(tensor), std::move(info));
    for (const std::string &tensor : names)
      if (!contains(tensor))
        return invalid(indexPath, absl::StrCat("maps tensor '", tensor, "' to '", shard,
                                               "', which does not contain it"));
  }
  return absl::OkStatus();
}

absl::StatusOr<SafetensorsReader::TensorList>
SafetensorsReader::addFile(const std::string &filePath) {
  MVC_ASSIGN_OR_RETURN(std::unique_ptr<MappedFile> file, MappedFile::open(filePath));
  if (file->size() < 8)
    return invalid(filePath, absl::StrCat("file is ", file->size(),
                                          " bytes, too short for the 8-byte header length"));
  const std::string &name = file->path();

  uint64_t headerSize = 0;
  for (int i = 7; i >= 0; --i)
    headerSize = (headerSize << 8) | file->data()[i];
  if (headerSize > kMaxHeaderBytes)
    return invalid(name, absl::StrCat("header length ", headerSize, " is more than the limit of ",
                                      kMaxHeaderBytes));
  if (headerSize > file->size() - 8)
    return invalid(name, absl::StrCat("header length ", headerSize, " exceeds the ", file->size() - 8,
                                      " bytes after it (truncated file?)"));
  uint64_t dataSize = file->size() - 8 - headerSize;
  const uint8_t *data = file->data() + 8 + headerSize;
  absl::string_view headerText(reinterpret_cast<const char *>(file->data() + 8), headerSize);
  MVC_ASSIGN_OR_RETURN(Json header, parseJsonObject(headerText, name, "header"));

  struct Range {
    uint64_t begin, end;
    std::string tensor;
  };
  std::vector<Range> ranges;
  TensorList parsed;
  for (auto entry = header.begin(); entry != header.end(); ++entry) {
    const std::string &tensor = entry.key();
    if (tensor == "__metadata__")
      continue;
    const Json &info = entry.value();
    if (!info.is_object())
      return invalidTensor(name, tensor, "entry is not an object");
    for (const char *field : {"dtype", "shape", "data_offsets"})
      if (!info.contains(field))
        return invalidTensor(name, tensor, absl::StrCat("'", field, "' is missing"));

    SafetensorsTensor out;
    out.file = name;
    MVC_ASSIGN_OR_RETURN(out.dtype, parseDTypeName(info.at("dtype"), name, tensor));
    MVC_ASSIGN_OR_RETURN(std::vector<uint64_t> shape,
                         parseCounts(info.at("shape"), name, tensor, "shape"));
    uint64_t byteSize = dtypeSize(out.dtype);
    for (uint64_t dim : shape) {
      if (__builtin_mul_overflow(byteSize, dim, &byteSize))
        return invalidTensor(name, tensor, "shape's byte size overflows 64 bits");
      out.shape.push_back(static_cast<int64_t>(dim));
    }
    MVC_ASSIGN_OR_RETURN(std::vector<uint64_t> offsets,
                         parseCounts(info.at("data_offsets"), name, tensor, "data_offsets"));
    if (offsets.size() != 2)
      return invalidTensor(
          name, tensor,
          absl::StrCat("data_offsets has ", offsets.size(), " entries, expected 2 (begin, end)"));
    uint64_t begin = offsets[0], end = offsets[1];
    std::string range = absl::StrCat("data_offsets [", begin, ", ", end, ")");
    if (begin > end)
      return invalidTensor(name, tensor, absl::StrCat(range, " end before they begin"));
    if (end > dataSize)
      return invalidTensor(name, tensor, absl::StrCat(range, " exceed the data size ", dataSize));
    if (end - begin != byteSize)
      return invalidTensor(name, tensor,
                           absl::StrCat(range, " hold ", end - begin, " bytes, but ",
                                        dtypeName(out.dtype), " shape [",
                                        absl::StrJoin(out.shape, ", "), "] needs ", byteSize));
    out.bytes = absl::MakeConstSpan(data + begin, end - begin);
    ranges.push_back({begin, end, tensor});
    parsed.emplace_back(tensor, std::move(out));
  }

  // Empty tensors occupy no bytes; every other pair of tensors must be disjoint.
  std::sort(ranges.begin(), ranges.end(), [](const Range &a, const Range &b) {
    return std::tie(a.begin, a.end) < std::tie(b.begin, b.end);
  });
  const Range *furthest = nullptr;
  for (const Range &range : ranges) {
    if (range.begin == range.end)
      continue;
    if (furthest && range.begin < furthest->end)
      return invalidTensor(name, range.tensor,
                           absl::StrCat("data_offsets [", range.begin, ", ", range.end,
                                        ") overlap tensor '", furthest->tensor, "' at [",
                                        furthest->begin, ", ", furthest->end, ")"));
    if (!furthest || range.end > furthest->end)
      furthest = &range;
  }
  files.push_back(std::move(file));
  return parsed;
}

std::vector<std::string> SafetensorsReader::tensorNames() const {
  std::vector<std::string> names;
  names.reserve(tensors.size());
  for (const auto &entry : tensors)
    names.push_back(entry.first);
  return names;
}

bool SafetensorsReader::contains(absl::string_view name) const {
  return tensors.find(name) != tensors.end();
}

absl::StatusOr<const SafetensorsTensor *> SafetensorsReader::tensor(absl::string_view name) const {
  auto found = tensors.find(name);
  if (found == tensors.end())
    return absl::NotFoundError(absl::StrCat(sourcePath, ": no tensor '", name, "'"));
  return &found->second;
}

absl::StatusOr<std::vector<float>> SafetensorsReader::readAsF32(absl::string_view name) const {
  MVC_ASSIGN_OR_RETURN(const SafetensorsTensor *info, tensor(name));
  return readAsF32(name, 0, info->numElements());
}

absl::StatusOr<std::vector<float>> SafetensorsReader::readAsF32(absl::string_view name,
                                                               int64_t first,
                                                               int64_t count) const {
  MVC_ASSIGN_OR_RETURN(const SafetensorsTensor *info, tensor(name));
  if (first < 0 || count < 0 || first > info->numElements() ||
      count > info->numElements() - first)
    return absl::OutOfRangeError(absl::StrCat(sourcePath, ": tensor '", name, "': elements [",
                                              first, ", ", first + count, ") of ",
                                              info->numElements()));
  std::vector<float> out(static_cast<size_t>(count));
  size_t width = info->dtype == DType::F32 ? 4 : 2;
  const uint8_t *bytes = info->bytes.data() + first * width;
  // Elements are little-endian on disk and in memory (mvc targets x86-64); memcpy because
  // the data area has no alignment guarantee.
  if (info->dtype == DType::F32) {
    if (count) std::memcpy(out.data(), bytes, count * sizeof(float));  // empty: no pointers
  } else {
    bool half = info->dtype == DType::F16; // else bf16: parsing admits nothing else
    for (int64_t i = 0; i < count; ++i) {
      uint16_t bits;
      std::memcpy(&bits, bytes + 2 * i, 2);
      out[i] = half ? f16ToF32(bits) : bf16ToF32(bits);
    }
  }
  if (count) MappedFile::release(bytes, count * width);
  return out;
}

float f16ToF32(uint16_t bits) {
  uint32_t sign = static_cast<uint32_t>(bits & 0x8000u) << 16;
  uint32_t exponent = (bits >> 10) & 0x1fu;
  uint32_t mantissa = bits & 0x3ffu;
  uint32_t out;
  if (exponent == 0x1f) {
    out = sign | 0x7f800000u | (mantissa << 13); // inf, NaN (payload kept)
  } else if (exponent != 0) {
    out = sign | ((exponent + 127 - 15) << 23) | (mantissa << 13);
  } else {
    float magnitude = std::ldexp(static_cast<float>(mantissa), -24); // zero or subnormal
    return sign ? -magnitude : magnitude;
  }
  float value;
  std::memcpy(&value, &out, sizeof(value));
  return value;
}

float bf16ToF32(uint16_t bits) {
  uint32_t widened = static_cast<uint32_t>(bits) << 16;
  float value;
  std::memcpy(&value, &widened, sizeof(value));
  return value;
}

} // namespace mvc
