// libFuzzer target: arbitrary bytes as a .safetensors file (runtime/weights: the header
// JSON with its duplicate-key and depth checks, dtypes, shapes, offsets against the file),
// then every tensor it accepts read as f32. The bytes go to a memfd, which maps like a file.
#include <cstddef>
#include <cstdint>
#include <string>
#include <sys/mman.h>
#include <unistd.h>

#include "runtime/weights/SafetensorsReader.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  int fd = memfd_create("fuzz.safetensors", MFD_CLOEXEC);
  if (fd < 0) return 0;
  if (size > 0 && write(fd, data, size) != ssize_t(size)) {
    close(fd);
    return 0;
  }
  auto reader = mvc::SafetensorsReader::open("/proc/self/fd/" + std::to_string(fd));
  if (reader.ok())
    for (const std::string &name : (*reader)->tensorNames()) (void)(*reader)->readAsF32(name);
  close(fd);
  return 0;
}
