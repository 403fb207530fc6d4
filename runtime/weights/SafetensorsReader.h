//===- SafetensorsReader.h - memory-mapped, validated safetensors checkpoints -===//
//
// Reads a Hugging Face checkpoint: one `model.safetensors`, or the shards named by
// `model.safetensors.index.json`. Each file is mapped read-only. A safetensors file is an
// 8-byte little-endian header length N, N bytes of JSON (`{"name": {"dtype", "shape",
// "data_offsets": [begin, end)}, "__metadata__": {...}}`), then the data area the offsets
// index. open() checks all of it before anything is used: N against the file size (and a
// 100 MB cap), the JSON (well-formed, an object, no duplicate keys), every tensor's dtype
// (F32, F16, BF16), shape (non-negative, no overflow), and offsets (ordered, inside the data
// area, exactly numel * dtype size, no two tensors overlapping). For a sharded checkpoint
// every shard file must hold exactly the tensors the index maps to it. Errors name the file
// and the tensor.
//
//===----------------------------------------------------------------------===//
#ifndef MVC_RUNTIME_WEIGHTS_SAFETENSORSREADER_H
#define MVC_RUNTIME_WEIGHTS_SAFETENSORSREADER_H

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "runtime/util/DType.h"
#include "runtime/util/MappedFile.h"

namespace mvc {

/// One tensor of a checkpoint, viewing the mapped file (valid while the reader lives).
struct SafetensorsTensor {
  DType dtype = DType::F32;
  std::vector<int64_t> shape;
  /// Little-endian elements in C order; not necessarily aligned to the element size.
  absl::Span<const uint8_t> bytes;
  /// The path of the file holding the tensor, for error messages.
  absl::string_view file;

  int64_t numElements() const;
};

class SafetensorsReader {
public:
  /// `path` is a `.safetensors` file, a `.safetensors.index.json` file, or a directory
  /// holding `model.safetensors.index.json` (preferred) or `model.safetensors`.
  static absl::StatusOr<std::unique_ptr<SafetensorsReader>> open(const std::string &path);
  ~SafetensorsReader();
  SafetensorsReader(const SafetensorsReader &) = delete;
  SafetensorsReader &operator=(const SafetensorsReader &) = delete;

  /// The file or index that was opened.
  const std::string &path() const { return sourcePath; }
  /// All tensor names, sorted.
  std::vector<std::string> tensorNames() const;
  bool contains(absl::string_view name) const;
  /// The tensor called `name`; NotFound names the checkpoint and the tensor.
  absl::StatusOr<const SafetensorsTensor *> tensor(absl::string_view name) const;
  /// The tensor's elements converted to float (bf16 and f16 widened exactly): all of them,
  /// or `count` from element `first` (a range of rows). The mapped pages read are released
  /// afterwards (MappedFile::release), so reading a checkpoint tensor by tensor keeps one
  /// tensor in memory.
  absl::StatusOr<std::vector<float>> readAsF32(absl::string_view name) const;
  absl::StatusOr<std::vector<float>> readAsF32(absl::string_view name, int64_t first,
                                               int64_t count) const;

private:

  explicit SafetensorsReader(std::string path);
  using TensorList = std::vector<std::pair<std::string, SafetensorsTensor>>;
  /// Maps and validates one safetensors file, keeps the mapping, returns its tensors.
  absl::StatusOr<TensorList> addFile(const std::string &filePath);
  /// Opens every shard of an index and checks each holds exactly the tensors mapped to it.
  absl::Status openIndex(const std::string &indexPath);

  std::string sourcePath;
  std::vector<std::unique_ptr<MappedFile>> files;
  std::map<std::string, SafetensorsTensor, std::less<>> tensors;
};

/// IEEE half and bfloat16 bit patterns to float (exact: every value is representable).
float f16ToF32(uint16_t bits);
float bf16ToF32(uint16_t bits);

} // namespace mvc

#endif // MVC_RUNTIME_WEIGHTS_SAFETENSORSREADER_H
