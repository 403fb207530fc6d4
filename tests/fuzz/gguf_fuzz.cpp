// libFuzzer target: arbitrary bytes as a GGUF file. GgufReader::open() must refuse or accept
// them without crashing; an accepted file then goes through everything mvc-compile does with
// one: every typed metadata getter on every key, every tensor dequantized (readAsF32), the
// Gemma 3 import (config, HF names, shapes, values) and the tokenizer import.
// The reader maps a path, so each input is written to a per-process file first (removed after).
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string>
#include <unistd.h>

#include "architectures/gemma3/Gemma3Gguf.h"
#include "architectures/gemma3/Gemma3GgufTokenizer.h"
#include "runtime/weights/Gguf.h"

namespace {

void run(const std::string &path) {
  auto opened = mvc::GgufReader::open(path);
  if (!opened.ok()) return;
  const mvc::GgufReader &reader = **opened;
  for (const auto &entry : reader.metadata()) {
    const std::string &key = entry.first;
    (void)reader.getUInt(key);
    (void)reader.getInt(key);
    (void)reader.getFloat(key);
    (void)reader.getBool(key);
    (void)reader.getString(key);
    (void)reader.getStringArray(key);
    (void)reader.getFloatArray(key);
    (void)reader.getIntArray(key);
  }
  for (const mvc::GgufTensor &t : reader.tensors()) {
    // Tensors lie inside the file, so their values are at most a few times its size.
    auto values = reader.readAsF32(t.name);
    if (values.ok() && values->size() != size_t(t.numElements())) __builtin_trap();
    (void)t.hfShape();
  }
  auto imported = mvc::Gemma3GgufImport::fromGguf(reader);
  if (imported.ok()) {
    (void)imported->config().dump();
    (void)imported->generationConfig().dump();
    for (const auto &name : imported->hfToGguf()) {
      (void)imported->shape(name.first);
      (void)imported->readAsF32(name.first);
    }
  }
  if (mvc::ggufHasTokenizer(reader)) {
    (void)mvc::ggufGemmaTokenizerJson(reader);
    auto config = mvc::ggufGemmaTokenizerConfig(reader);
    if (config.ok()) (void)config->dump();
  }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static const std::string path = "/tmp/mvc-gguf-fuzz-" + std::to_string(::getpid()) + ".gguf";
  std::FILE *f = std::fopen(path.c_str(), "wb");
  if (!f) return 0;
  std::fwrite(data, 1, size, f);
  std::fclose(f);
  run(path);
  ::unlink(path.c_str());
  return 0;
}
