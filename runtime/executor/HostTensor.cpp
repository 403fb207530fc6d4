//===- HostTensor.cpp -----------------------------------------------------===//
#include <cstdlib>
#include <cstring>
#include <new>

#include "absl/strings/str_cat.h"
#include "mvc/Runtime.h"

namespace mvc {

namespace {
constexpr size_t kAlignment = 64;

uint8_t *allocateZeroed(size_t size) {
  if (size == 0)
    return nullptr;
  size_t rounded = (size + kAlignment - 1) / kAlignment * kAlignment;
  void *memory = std::aligned_alloc(kAlignment, rounded);
  if (!memory)
    throw std::bad_alloc();
  std::memset(memory, 0, rounded);
  return static_cast<uint8_t *>(memory);
}
} // namespace

void HostTensor::Free::operator()(uint8_t *p) const { std::free(p); }

int64_t HostTensor::numElements() const {
  int64_t count = 1;
  for (int64_t dim : dims)
    count *= dim;
  return count;
}

HostTensor HostTensor::allocate(DType dtype, std::vector<int64_t> shape, size_t minCapacity) {
  HostTensor tensor;
  tensor.elementType = dtype;
  tensor.dims = std::move(shape);
  tensor.capacity = std::max(tensor.byteSize(), minCapacity);
  tensor.storage.reset(allocateZeroed(tensor.capacity));
  return tensor;
}

absl::StatusOr<HostTensor> HostTensor::fromBytes(DType dtype, std::vector<int64_t> shape,
                                                 const void *data, size_t size) {
  uint64_t count = 1;
  for (int64_t dim : shape) {
    if (dim < 0 || __builtin_mul_overflow(count, static_cast<uint64_t>(dim), &count))
      return absl::InvalidArgumentError("invalid tensor shape");
  }
  if (count > UINT64_MAX / 8 || count * dtypeSize(dtype) != size)
    return absl::InvalidArgumentError(
        absl::StrCat(size, " bytes do not match the shape's ", count, " ", dtypeName(dtype),
                     " elements"));
  HostTensor tensor = allocate(dtype, std::move(shape));
  if (size != 0)
    std::memcpy(tensor.data(), data, size);
  return tensor;
}

HostTensor::HostTensor(const HostTensor &other)
    : elementType(other.elementType), dims(other.dims), capacity(other.capacity),
      storage(allocateZeroed(other.capacity)) {
  if (capacity != 0)
    std::memcpy(storage.get(), other.storage.get(), capacity);
}

HostTensor &HostTensor::operator=(const HostTensor &other) {
  if (this != &other)
    *this = HostTensor(other);
  return *this;
}

} // namespace mvc
