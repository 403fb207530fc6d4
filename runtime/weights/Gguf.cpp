//===- Gguf.cpp -------------------------------------------------------------===//
#include "runtime/weights/Gguf.h"

#include <algorithm>
#include <cstring>
#include <limits>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "runtime/util/StatusMacros.h"
#include "runtime/weights/GgufDequant.h"

namespace mvc {

namespace {

constexpr uint32_t kMagic = 0x46554747; // "GGUF" read as a little-endian u32
constexpr uint64_t kDefaultAlignment = 32;
constexpr uint32_t kMaxRank = 4;   // GGML_MAX_DIMS
constexpr int kMaxArrayDepth = 16; // arrays of arrays; real files nest at most once
// The fewest bytes one entry can take, to refuse counts the rest of the file cannot hold
// before anything is reserved for them.
constexpr uint64_t kMinKeyValueBytes = 8 + 4 + 1; // empty key, type, a u8 value
constexpr uint64_t kMinTensorInfoBytes = 8 + 4 + 8 + 4 + 8;
constexpr uint64_t kMinArrayBytes = 4 + 8;

struct TypeEntry {
  GgmlType type;
  GgmlTypeTraits traits;
};
// Block sizes of every ggml type a GGUF may hold (ggml's type_traits table).
constexpr TypeEntry kTypes[] = {
    {GgmlType::F32, {"F32", 1, 4}},         {GgmlType::F16, {"F16", 1, 2}},
    {GgmlType::Q4_0, {"Q4_0", 32, 18}},     {GgmlType::Q4_1, {"Q4_1", 32, 20}},
    {GgmlType::Q5_0, {"Q5_0", 32, 22}},     {GgmlType::Q5_1, {"Q5_1", 32, 24}},
    {GgmlType::Q8_0, {"Q8_0", 32, 34}},     {GgmlType::Q8_1, {"Q8_1", 32, 36}},
    {GgmlType::Q2_K, {"Q2_K", 256, 84}},    {GgmlType::Q3_K, {"Q3_K", 256, 110}},
    {GgmlType::Q4_K, {"Q4_K", 256, 144}},   {GgmlType::Q5_K, {"Q5_K", 256, 176}},
    {GgmlType::Q6_K, {"Q6_K", 256, 210}},   {GgmlType::Q8_K, {"Q8_K", 256, 292}},
    {GgmlType::IQ2_XXS, {"IQ2_XXS", 256, 66}}, {GgmlType::IQ2_XS, {"IQ2_XS", 256, 74}},
    {GgmlType::IQ3_XXS, {"IQ3_XXS", 256, 98}}, {GgmlType::IQ1_S, {"IQ1_S", 256, 50}},
    {GgmlType::IQ4_NL, {"IQ4_NL", 32, 18}}, {GgmlType::IQ3_S, {"IQ3_S", 256, 110}},
    {GgmlType::IQ2_S, {"IQ2_S", 256, 82}},  {GgmlType::IQ4_XS, {"IQ4_XS", 256, 136}},
    {GgmlType::I8, {"I8", 1, 1}},           {GgmlType::I16, {"I16", 1, 2}},
    {GgmlType::I32, {"I32", 1, 4}},         {GgmlType::I64, {"I64", 1, 8}},
    {GgmlType::F64, {"F64", 1, 8}},         {GgmlType::IQ1_M, {"IQ1_M", 256, 56}},
    {GgmlType::BF16, {"BF16", 1, 2}},       {GgmlType::TQ1_0, {"TQ1_0", 256, 54}},
    {GgmlType::TQ2_0, {"TQ2_0", 256, 66}},  {GgmlType::MXFP4, {"MXFP4", 32, 17}},
};

/// Size of one element of a fixed-size value type; 0 for string and array.
uint64_t scalarBytes(GgufValueType type) {
  switch (type) {
  case GgufValueType::UInt8: case GgufValueType::Int8: case GgufValueType::Bool: return 1;
  case GgufValueType::UInt16: case GgufValueType::Int16: return 2;
  case GgufValueType::UInt32: case GgufValueType::Int32: case GgufValueType::Float32: return 4;
  case GgufValueType::UInt64: case GgufValueType::Int64: case GgufValueType::Float64: return 8;
  case GgufValueType::String: case GgufValueType::Array: return 0;
  }
  return 0;
}

template <typename T> T load(const uint8_t *p) {
  T value;
  std::memcpy(&value, p, sizeof(T));
  return value;
}

bool isInteger(GgufValueType t) {
  return t == GgufValueType::UInt8 || t == GgufValueType::Int8 || t == GgufValueType::UInt16 ||
         t == GgufValueType::Int16 || t == GgufValueType::UInt32 || t == GgufValueType::Int32 ||
         t == GgufValueType::UInt64 || t == GgufValueType::Int64;
}

/// Element `i` of integer type `t` at `p`, widened; `negative` tells a signed value below 0.
uint64_t integerAt(GgufValueType t, const uint8_t *p, size_t i, bool &negative) {
  int64_t s = 0;
  switch (t) {
  case GgufValueType::UInt8: return load<uint8_t>(p + i);
  case GgufValueType::UInt16: return load<uint16_t>(p + 2 * i);
  case GgufValueType::UInt32: return load<uint32_t>(p + 4 * i);
  case GgufValueType::UInt64: return load<uint64_t>(p + 8 * i);
  case GgufValueType::Int8: s = load<int8_t>(p + i); break;
  case GgufValueType::Int16: s = load<int16_t>(p + 2 * i); break;
  case GgufValueType::Int32: s = load<int32_t>(p + 4 * i); break;
  default: s = load<int64_t>(p + 8 * i); break;
  }
  negative = s < 0;
  return static_cast<uint64_t>(s);
}

/// A key or tensor name as error messages show it: escaped (a corrupt file's names can be any
/// bytes) and cut after 100 bytes.
std::string shown(absl::string_view name) {
  constexpr size_t kMaxShown = 100;
  std::string text = absl::CHexEscape(name.substr(0, kMaxShown));
  return name.size() > kMaxShown ? absl::StrCat(text, "...") : text;
}

} // namespace

const GgmlTypeTraits *ggmlTypeTraits(uint32_t type) {
  for (const TypeEntry &entry : kTypes)
    if (static_cast<uint32_t>(entry.type) == type)
      return &entry.traits;
  return nullptr;
}

std::string ggmlTypeName(GgmlType type) {
  const GgmlTypeTraits *traits = ggmlTypeTraits(static_cast<uint32_t>(type));
  return traits ? std::string(traits->name) : absl::StrCat("#", static_cast<uint32_t>(type));
}

absl::string_view ggufValueTypeName(GgufValueType type) {
  static constexpr absl::string_view kNames[] = {
      "uint8", "int8", "uint16", "int16", "uint32", "int32", "float32",
      "bool",  "string", "array", "uint64", "int64", "float64"};
  uint32_t index = static_cast<uint32_t>(type);
  return index < std::size(kNames) ? kNames[index] : "unknown";
}

int64_t GgufTensor::numElements() const {
  int64_t count = 1;
  for (int64_t d : dims)
    count *= d;
  return count;
}

std::vector<int64_t> GgufTensor::hfShape() const { return {dims.rbegin(), dims.rend()}; }

/// A cursor over the mapped bytes; every read is checked against the end of the file.
class GgufReader::Parser {
public:
  Parser(const std::string &path, const uint8_t *base, uint64_t size)
      : path(path), base(base), size(size) {}

  uint64_t position() const { return pos; }
  uint64_t left() const { return size - pos; }

  absl::Status error(absl::string_view what) const {
    return absl::InvalidArgumentError(absl::StrCat(path, ": ", what));
  }
  /// `count` more bytes must exist; `what` says what they were to hold.
  absl::Status need(uint64_t count, absl::string_view what) const {
    if (count > left())
      return error(absl::StrCat("truncated: ", what, " at offset ", pos, " needs ", count,
                                " bytes, the file has ", left(), " left"));
    return absl::OkStatus();
  }
  template <typename T> absl::StatusOr<T> read(absl::string_view what) {
    MVC_RETURN_IF_ERROR(need(sizeof(T), what));
    T value = load<T>(base + pos);
    pos += sizeof(T);
    return value;
  }
  absl::StatusOr<absl::Span<const uint8_t>> bytes(uint64_t count, absl::string_view what) {
    MVC_RETURN_IF_ERROR(need(count, what));
    absl::Span<const uint8_t> span(base + pos, count);
    pos += count;
    return span;
  }
  absl::StatusOr<absl::string_view> string(absl::string_view what) {
    MVC_ASSIGN_OR_RETURN(uint64_t length, read<uint64_t>(what));
    if (length > left())
      return error(absl::StrCat(what, ": string length ", length, " at offset ", pos - 8,
                                " runs past the end of the file (", left(), " bytes left)"));
    absl::string_view text(reinterpret_cast<const char *>(base + pos), length);
    pos += length;
    return text;
  }
  absl::StatusOr<GgufValueType> valueType(absl::string_view what) {
    MVC_ASSIGN_OR_RETURN(uint32_t raw, read<uint32_t>(what));
    if (raw > static_cast<uint32_t>(GgufValueType::Float64))
      return error(absl::StrCat(what, ": unknown value type ", raw));
    return static_cast<GgufValueType>(raw);
  }

  /// A value of `type`; `what` names the key for errors.
  absl::StatusOr<GgufValue> value(GgufValueType type, const std::string &what, int depth) {
    GgufValue v;
    v.type = type;
    if (type == GgufValueType::String) {
      MVC_ASSIGN_OR_RETURN(absl::string_view s, string(what));
      v.strings.push_back(s);
      return v;
    }
    if (type != GgufValueType::Array) {
      MVC_ASSIGN_OR_RETURN(v.bytes, bytes(scalarBytes(type), what));
      return v;
    }
    if (depth >= kMaxArrayDepth)
      return error(absl::StrCat(what, ": arrays nested deeper than ", kMaxArrayDepth));
    MVC_ASSIGN_OR_RETURN(v.elementType, valueType(what + " (array element type)"));
    MVC_ASSIGN_OR_RETURN(v.count, read<uint64_t>(what + " (array count)"));
    uint64_t elementBytes = scalarBytes(v.elementType);
    uint64_t minBytes = elementBytes ? elementBytes
                        : v.elementType == GgufValueType::String ? 8 : kMinArrayBytes;
    if (v.count > left() / minBytes)
      return error(absl::StrCat(what, ": array of ", v.count, " ",
                                ggufValueTypeName(v.elementType), " at offset ", pos - 12,
                                " cannot fit in the ", left(), " bytes left"));
    if (elementBytes) {
      MVC_ASSIGN_OR_RETURN(v.bytes, bytes(v.count * elementBytes, what));
    } else if (v.elementType == GgufValueType::String) {
      v.strings.reserve(v.count);
      for (uint64_t i = 0; i < v.count; ++i) {
        MVC_ASSIGN_OR_RETURN(absl::string_view s, string(absl::StrCat(what, "[", i, "]")));
        v.strings.push_back(s);
      }
    } else {
      v.items.reserve(v.count);
      // An element of an array of arrays is itself an element type, a count and elements.
      for (uint64_t i = 0; i < v.count; ++i) {
        MVC_ASSIGN_OR_RETURN(GgufValue item, value(GgufValueType::Array,
                                                   absl::StrCat(what, "[", i, "]"), depth + 1));
        v.items.push_back(std::move(item));
      }
    }
    return v;
  }

private:
  const std::string &path;
  const uint8_t *base;
  uint64_t size;
  uint64_t pos = 0;
};

GgufReader::GgufReader(std::string path) : filePath(std::move(path)) {}
GgufReader::~GgufReader() = default;

absl::StatusOr<std::unique_ptr<GgufReader>> GgufReader::open(const std::string &path) {
  std::unique_ptr<GgufReader> reader(new GgufReader(path));
  MVC_ASSIGN_OR_RETURN(reader->file, MappedFile::open(path));
  MVC_RETURN_IF_ERROR(reader->parse());
  return reader;
}

absl::Status GgufReader::parse() {
  Parser in(filePath, file->data(), file->size());
  MVC_ASSIGN_OR_RETURN(uint32_t magic, in.read<uint32_t>("the magic"));
  if (magic != kMagic)
    return in.error("not a GGUF file (the first 4 bytes are not \"GGUF\")");
  MVC_ASSIGN_OR_RETURN(formatVersion, in.read<uint32_t>("the version"));
  if (formatVersion != 2 && formatVersion != 3) {
    if ((formatVersion & 0xffff) == 0)
      return in.error("a big-endian GGUF; mvc reads little-endian files");
    return in.error(absl::StrCat("GGUF version ", formatVersion, " (mvc reads 2 and 3)"));
  }
  MVC_ASSIGN_OR_RETURN(uint64_t tensorCount, in.read<uint64_t>("the tensor count"));
  MVC_ASSIGN_OR_RETURN(uint64_t keyCount, in.read<uint64_t>("the metadata count"));
  if (keyCount > in.left() / kMinKeyValueBytes)
    return in.error(absl::StrCat("metadata count ", keyCount, " cannot fit in the ",
                                 in.left(), " bytes left"));

  for (uint64_t i = 0; i < keyCount; ++i) {
    MVC_ASSIGN_OR_RETURN(absl::string_view key,
                         in.string(absl::StrCat("metadata key #", i)));
    std::string what = absl::StrCat("metadata '", shown(key), "'");
    MVC_ASSIGN_OR_RETURN(GgufValueType type, in.valueType(what));
    MVC_ASSIGN_OR_RETURN(GgufValue value, in.value(type, what, 0));
    if (!values.emplace(std::string(key), std::move(value)).second)
      return in.error(absl::StrCat(what, " appears twice"));
  }

  if (find("general.alignment")) {
    MVC_ASSIGN_OR_RETURN(dataAlignment, getUInt("general.alignment"));
    if (dataAlignment == 0 || (dataAlignment & (dataAlignment - 1)) != 0)
      return in.error(absl::StrCat("general.alignment is ", dataAlignment,
                                   ", expected a power of two"));
  } else {
    dataAlignment = kDefaultAlignment;
  }

  if (tensorCount > in.left() / kMinTensorInfoBytes)
    return in.error(absl::StrCat("tensor count ", tensorCount, " cannot fit in the ",
                                 in.left(), " bytes left"));
  tensorList.reserve(tensorCount);
  for (uint64_t i = 0; i < tensorCount; ++i) {
    GgufTensor t;
    MVC_ASSIGN_OR_RETURN(absl::string_view name, in.string(absl::StrCat("tensor #", i, " name")));
    // A header whose tensor count is too high reads the alignment padding (zeros) as an
    // empty name; real files never have one.
    if (name.empty())
      return in.error(absl::StrCat("tensor #", i, " of ", tensorCount,
                                   " has an empty name (is the tensor count right?)"));
    t.name = std::string(name);
    std::string what = absl::StrCat("tensor '", shown(t.name), "'");
    MVC_ASSIGN_OR_RETURN(uint32_t rank, in.read<uint32_t>(what + " rank"));
    if (rank == 0 || rank > kMaxRank)
      return in.error(absl::StrCat(what, ": rank ", rank, ", expected 1 to ", kMaxRank));
    uint64_t elements = 1;
    for (uint32_t d = 0; d < rank; ++d) {
      MVC_ASSIGN_OR_RETURN(uint64_t dim, in.read<uint64_t>(what + " dims"));
      if (dim > uint64_t(std::numeric_limits<int64_t>::max()) ||
          (dim != 0 && elements > uint64_t(std::numeric_limits<int64_t>::max()) / dim))
        return in.error(absl::StrCat(what, ": dims overflow 64 bits (dim ", d, " is ", dim, ")"));
      elements *= dim;
      t.dims.push_back(static_cast<int64_t>(dim));
    }
    MVC_ASSIGN_OR_RETURN(uint32_t rawType, in.read<uint32_t>(what + " type"));
    const GgmlTypeTraits *traits = ggmlTypeTraits(rawType);
    if (!traits)
      return in.error(absl::StrCat(what, ": unknown ggml type ", rawType));
    t.type = static_cast<GgmlType>(rawType);
    if (t.dims[0] % traits->blockElements != 0)
      return in.error(absl::StrCat(what, ": rows of ", t.dims[0], " values are not a multiple of the ",
                                   traits->name, " block of ", traits->blockElements));
    MVC_ASSIGN_OR_RETURN(t.offset, in.read<uint64_t>(what + " offset"));
    if (!tensorIndex.emplace(t.name, tensorList.size()).second)
      return in.error(absl::StrCat(what, " appears twice"));
    uint64_t byteCount = 0;
    if (__builtin_mul_overflow(elements / traits->blockElements,
                               uint64_t(traits->blockBytes), &byteCount))
      return in.error(absl::StrCat(what, ": data size overflows 64 bits"));
    t.bytes = absl::Span<const uint8_t>(nullptr, byteCount);
    tensorList.push_back(std::move(t));
  }

  uint64_t infoEnd = in.position();
  dataStart = (infoEnd + dataAlignment - 1) / dataAlignment * dataAlignment;
  if (dataStart < infoEnd || (!tensorList.empty() && dataStart > file->size()))
    return in.error(absl::StrCat("the data area would start at ", dataStart,
                                 ", beyond the file size ", file->size()));
  uint64_t dataSize = tensorList.empty() ? 0 : file->size() - dataStart;
  for (GgufTensor &t : tensorList) {
    uint64_t count = t.bytes.size();
    if (t.offset % dataAlignment != 0)
      return in.error(absl::StrCat("tensor '", shown(t.name), "': offset ", t.offset,
                                   " is not a multiple of the alignment ", dataAlignment));
    if (t.offset > dataSize || count > dataSize - t.offset)
      return in.error(absl::StrCat("tensor '", shown(t.name), "': data [", dataStart + t.offset,
                                   ", ", dataStart + t.offset + count,
                                   ") beyond the file size ", file->size()));
    t.bytes = absl::Span<const uint8_t>(file->data() + dataStart + t.offset, count);
  }
  std::vector<const GgufTensor *> byOffset;
  for (const GgufTensor &t : tensorList)
    byOffset.push_back(&t);
  std::sort(byOffset.begin(), byOffset.end(),
            [](const GgufTensor *a, const GgufTensor *b) { return a->offset < b->offset; });
  for (size_t i = 1; i < byOffset.size(); ++i) {
    const GgufTensor &a = *byOffset[i - 1], &b = *byOffset[i];
    if (b.offset < a.offset + a.bytes.size())
      return in.error(absl::StrCat("tensors '", shown(a.name), "' and '", shown(b.name),
                                   "' overlap"));
  }
  return absl::OkStatus();
}

const GgufValue *GgufReader::find(absl::string_view key) const {
  auto it = values.find(key);
  return it == values.end() ? nullptr : &it->second;
}

const GgufTensor *GgufReader::tensor(absl::string_view name) const {
  auto it = tensorIndex.find(name);
  return it == tensorIndex.end() ? nullptr : &tensorList[it->second];
}

absl::StatusOr<std::vector<float>> GgufReader::readAsF32(absl::string_view name) const {
  const GgufTensor *t = tensor(name);
  if (!t)
    return absl::NotFoundError(absl::StrCat(filePath, ": no tensor '", name, "'"));
  std::vector<float> out(static_cast<size_t>(t->numElements()));
  absl::Status status = dequantize(t->type, t->bytes, t->dims[0], absl::MakeSpan(out));
  // The copy is made: the mapped pages need not stay (MappedFile::release).
  MappedFile::release(t->bytes.data(), t->bytes.size());
  if (!status.ok())
    return absl::Status(status.code(),
                        absl::StrCat(filePath, ": tensor '", name, "': ", status.message()));
  return out;
}

absl::StatusOr<std::vector<float>> GgufReader::readRowsAsF32(absl::string_view name,
                                                            int64_t begin,
                                                            int64_t count) const {
  const GgufTensor *t = tensor(name);
  if (!t)
    return absl::NotFoundError(absl::StrCat(filePath, ": no tensor '", name, "'"));
  int64_t rowElems = t->dims.empty() ? 1 : t->dims[0];
  int64_t rows = rowElems ? t->numElements() / rowElems : 0;
  if (begin < 0 || count < 0 || begin > rows || count > rows - begin)
    return absl::OutOfRangeError(absl::StrCat(filePath, ": tensor '", name, "': rows [", begin,
                                              ", ", begin + count, ") of ", rows));
  // Rows are whole blocks (the parser checks dims[0] against the block size).
  size_t rowBytes = rows ? t->bytes.size() / static_cast<size_t>(rows) : 0;
  absl::Span<const uint8_t> bytes = t->bytes.subspan(begin * rowBytes, count * rowBytes);
  std::vector<float> out(static_cast<size_t>(count * rowElems));
  absl::Status status = dequantize(t->type, bytes, rowElems, absl::MakeSpan(out));
  MappedFile::release(bytes.data(), bytes.size());
  if (!status.ok())
    return absl::Status(status.code(),
                        absl::StrCat(filePath, ": tensor '", name, "': ", status.message()));
  return out;
}

absl::Status GgufReader::typeError(absl::string_view key, const GgufValue &value,
                                   absl::string_view expected) const {
  std::string found(ggufValueTypeName(value.type));
  if (value.type == GgufValueType::Array)
    found = absl::StrCat("array of ", ggufValueTypeName(value.elementType));
  return absl::InvalidArgumentError(absl::StrCat(filePath, ": metadata '", key, "': expected ",
                                                 expected, ", found ", found));
}

absl::StatusOr<const GgufValue *> GgufReader::require(absl::string_view key) const {
  const GgufValue *value = find(key);
  if (!value)
    return absl::NotFoundError(absl::StrCat(filePath, ": no metadata '", key, "'"));
  return value;
}

absl::StatusOr<uint64_t> GgufReader::getUInt(absl::string_view key) const {
  MVC_ASSIGN_OR_RETURN(const GgufValue *v, require(key));
  bool negative = false;
  uint64_t x = isInteger(v->type) ? integerAt(v->type, v->bytes.data(), 0, negative) : 0;
  if (!isInteger(v->type) || negative)
    return typeError(key, *v, "a non-negative integer");
  return x;
}

absl::StatusOr<int64_t> GgufReader::getInt(absl::string_view key) const {
  MVC_ASSIGN_OR_RETURN(const GgufValue *v, require(key));
  bool negative = false;
  uint64_t x = isInteger(v->type) ? integerAt(v->type, v->bytes.data(), 0, negative) : 0;
  if (!isInteger(v->type) || (!negative && x > uint64_t(std::numeric_limits<int64_t>::max())))
    return typeError(key, *v, "an integer that fits in int64");
  return static_cast<int64_t>(x);
}

absl::StatusOr<double> GgufReader::getFloat(absl::string_view key) const {
  MVC_ASSIGN_OR_RETURN(const GgufValue *v, require(key));
  if (v->type == GgufValueType::Float32)
    return load<float>(v->bytes.data());
  if (v->type == GgufValueType::Float64)
    return load<double>(v->bytes.data());
  return typeError(key, *v, "float32 or float64");
}

absl::StatusOr<bool> GgufReader::getBool(absl::string_view key) const {
  MVC_ASSIGN_OR_RETURN(const GgufValue *v, require(key));
  if (v->type != GgufValueType::Bool)
    return typeError(key, *v, "bool");
  return v->bytes[0] != 0;
}

absl::StatusOr<absl::string_view> GgufReader::getString(absl::string_view key) const {
  MVC_ASSIGN_OR_RETURN(const GgufValue *v, require(key));
  if (v->type != GgufValueType::String)
    return typeError(key, *v, "string");
  return v->strings[0];
}

absl::StatusOr<std::vector<absl::string_view>>
GgufReader::getStringArray(absl::string_view key) const {
  MVC_ASSIGN_OR_RETURN(const GgufValue *v, require(key));
  if (v->type != GgufValueType::Array || v->elementType != GgufValueType::String)
    return typeError(key, *v, "array of string");
  return v->strings;
}

absl::StatusOr<std::vector<float>> GgufReader::getFloatArray(absl::string_view key) const {
  MVC_ASSIGN_OR_RETURN(const GgufValue *v, require(key));
  if (v->type != GgufValueType::Array ||
      (v->elementType != GgufValueType::Float32 && v->elementType != GgufValueType::Float64))
    return typeError(key, *v, "array of float32 or float64");
  std::vector<float> out(v->count);
  for (uint64_t i = 0; i < v->count; ++i)
    out[i] = v->elementType == GgufValueType::Float32
                 ? load<float>(v->bytes.data() + 4 * i)
                 : static_cast<float>(load<double>(v->bytes.data() + 8 * i));
  return out;
}

absl::StatusOr<std::vector<int64_t>> GgufReader::getIntArray(absl::string_view key) const {
  MVC_ASSIGN_OR_RETURN(const GgufValue *v, require(key));
  if (v->type != GgufValueType::Array || !isInteger(v->elementType))
    return typeError(key, *v, "array of integers");
  std::vector<int64_t> out(v->count);
  for (uint64_t i = 0; i < v->count; ++i) {
    bool negative = false;
    uint64_t x = integerAt(v->elementType, v->bytes.data(), i, negative);
    if (!negative && x > uint64_t(std::numeric_limits<int64_t>::max()))
      return typeError(key, *v, "an array of integers that fit in int64");
    out[i] = static_cast<int64_t>(x);
  }
  return out;
}

} // namespace mvc
