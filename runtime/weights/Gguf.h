//===- Gguf.h - memory-mapped, validated GGUF files ---------------*- C++ -*-===//
//
// Reads a GGUF file (versions 2 and 3, little-endian), the single-file format llama.cpp
// writes: the magic "GGUF", a u32 version, u64 tensor and metadata counts, the metadata
// (key string, u32 value type, value; strings are a u64 length and bytes, arrays a u32
// element type, a u64 count and the elements, possibly arrays again), the tensor infos
// (name, u32 rank, u64 dims, u32 ggml type, u64 offset), then the data area starting at the
// next multiple of `general.alignment` (default 32); tensor offsets are relative to it.
//
// open() maps the file and checks everything before anything is used: every count, string
// length and array size against the bytes left, value types, unique keys and tensor names,
// the alignment (a power of two), every tensor's rank (1..4), dims (no overflow, innermost a
// multiple of its type's block), type (known to ggml), offset (aligned) and data range
// (inside the file, no two tensors overlapping). Errors name the file and the key or tensor.
//
// Dims are in GGUF order, innermost (contiguous) first: a matrix HF stores as [out, in] is
// dims {in, out} here, with the same bytes in the same order. hfShape() reverses them.
//
//===----------------------------------------------------------------------===//
#ifndef MVC_RUNTIME_WEIGHTS_GGUF_H
#define MVC_RUNTIME_WEIGHTS_GGUF_H

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "runtime/util/MappedFile.h"

namespace mvc {

/// ggml's tensor type ids, as stored in GGUF tensor infos (ids 4, 5, 31-33, 36-38 are
/// retired and refused).
enum class GgmlType : uint32_t {
  F32 = 0, F16 = 1, Q4_0 = 2, Q4_1 = 3, Q5_0 = 6, Q5_1 = 7, Q8_0 = 8, Q8_1 = 9,
  Q2_K = 10, Q3_K = 11, Q4_K = 12, Q5_K = 13, Q6_K = 14, Q8_K = 15,
  IQ2_XXS = 16, IQ2_XS = 17, IQ3_XXS = 18, IQ1_S = 19, IQ4_NL = 20, IQ3_S = 21, IQ2_S = 22,
  IQ4_XS = 23, I8 = 24, I16 = 25, I32 = 26, I64 = 27, F64 = 28, IQ1_M = 29, BF16 = 30,
  TQ1_0 = 34, TQ2_0 = 35, MXFP4 = 39,
};

/// The storage of one ggml type: `blockElements` values packed into `blockBytes` bytes.
struct GgmlTypeTraits {
  absl::string_view name;
  int64_t blockElements;
  int64_t blockBytes;
};
/// The traits of a type id, or nullptr for an id ggml does not define.
const GgmlTypeTraits *ggmlTypeTraits(uint32_t type);
/// "Q4_K", or "#99" for an unknown id.
std::string ggmlTypeName(GgmlType type);

enum class GgufValueType : uint32_t {
  UInt8 = 0, Int8 = 1, UInt16 = 2, Int16 = 3, UInt32 = 4, Int32 = 5, Float32 = 6, Bool = 7,
  String = 8, Array = 9, UInt64 = 10, Int64 = 11, Float64 = 12,
};
/// "uint32", "array", ...
absl::string_view ggufValueTypeName(GgufValueType type);

/// One metadata value, viewing the mapped file (valid while the reader lives).
struct GgufValue {
  GgufValueType type = GgufValueType::UInt8;
  /// Scalars: their little-endian bytes. Arrays of numbers or bools: all elements' bytes.
  absl::Span<const uint8_t> bytes;
  /// A string: one entry. An array of strings: one per element.
  std::vector<absl::string_view> strings;
  /// Arrays only: the element type and count.
  GgufValueType elementType = GgufValueType::UInt8;
  uint64_t count = 0;
  /// Arrays of arrays only: the elements.
  std::vector<GgufValue> items;
};

/// One tensor, viewing the mapped file.
struct GgufTensor {
  std::string name;
  GgmlType type = GgmlType::F32;
  /// GGUF order: dims[0] is the innermost, contiguous dimension.
  std::vector<int64_t> dims;
  /// Offset from the start of the data area (a multiple of the alignment).
  uint64_t offset = 0;
  absl::Span<const uint8_t> bytes;

  int64_t numElements() const;
  /// The dims outermost first, as HF/numpy/C order spells the same tensor.
  std::vector<int64_t> hfShape() const;
};

class GgufReader {
public:
  static absl::StatusOr<std::unique_ptr<GgufReader>> open(const std::string &path);
  ~GgufReader();
  GgufReader(const GgufReader &) = delete;
  GgufReader &operator=(const GgufReader &) = delete;

  const std::string &path() const { return filePath; }
  uint32_t version() const { return formatVersion; }
  uint64_t alignment() const { return dataAlignment; }
  /// Where the data area starts in the file.
  uint64_t dataOffset() const { return dataStart; }

  /// All metadata, by key.
  const std::map<std::string, GgufValue, std::less<>> &metadata() const { return values; }
  /// nullptr when absent.
  const GgufValue *find(absl::string_view key) const;

  // Typed getters: NotFound when absent, InvalidArgument when the stored type does not fit.
  /// Any integer type holding a non-negative value.
  absl::StatusOr<uint64_t> getUInt(absl::string_view key) const;
  /// Any integer type whose value fits in int64.
  absl::StatusOr<int64_t> getInt(absl::string_view key) const;
  /// float32 or float64.
  absl::StatusOr<double> getFloat(absl::string_view key) const;
  absl::StatusOr<bool> getBool(absl::string_view key) const;
  absl::StatusOr<absl::string_view> getString(absl::string_view key) const;
  absl::StatusOr<std::vector<absl::string_view>> getStringArray(absl::string_view key) const;
  /// An array of float32 or float64.
  absl::StatusOr<std::vector<float>> getFloatArray(absl::string_view key) const;
  /// An array of any integer type whose values fit in int64.
  absl::StatusOr<std::vector<int64_t>> getIntArray(absl::string_view key) const;

  /// Tensors in file order.
  const std::vector<GgufTensor> &tensors() const { return tensorList; }
  /// nullptr when absent.
  const GgufTensor *tensor(absl::string_view name) const;
  /// The tensor's values as f32 (dequantized, see GgufDequant.h). Errors name the tensor.
  absl::StatusOr<std::vector<float>> readAsF32(absl::string_view name) const;
  /// Rows [begin, begin + count) of the tensor as f32, a row being dims[0] elements (the
  /// HF shape's last dimension). The mapped pages read are released afterwards.
  absl::StatusOr<std::vector<float>> readRowsAsF32(absl::string_view name, int64_t begin,
                                                   int64_t count) const;

private:
  class Parser;
  explicit GgufReader(std::string path);
  absl::Status parse();
  absl::Status typeError(absl::string_view key, const GgufValue &value,
                         absl::string_view expected) const;
  absl::StatusOr<const GgufValue *> require(absl::string_view key) const;

  std::string filePath;
  std::unique_ptr<MappedFile> file;
  uint32_t formatVersion = 0;
  uint64_t dataAlignment = 32;
  uint64_t dataStart = 0;
  std::map<std::string, GgufValue, std::less<>> values;
  std::vector<GgufTensor> tensorList;
  std::map<std::string, size_t, std::less<>> tensorIndex;
};

} // namespace mvc

#endif // MVC_RUNTIME_WEIGHTS_GGUF_H
