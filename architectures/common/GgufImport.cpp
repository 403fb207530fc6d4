//===- GgufImport.cpp - helpers every GGUF import uses --------------------===//
#include "architectures/common/GgufImport.h"

#include <charconv>
#include <cstdlib>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "runtime/util/StatusMacros.h"

namespace mvc {

std::string ggufTensorHfName(const std::string &ggufName,
                             absl::Span<const GgufLayerTensor> layerTensors) {
  if (ggufName == "token_embd.weight")
    return "model.embed_tokens.weight";
  if (ggufName == "output_norm.weight")
    return "model.norm.weight";
  if (ggufName == "output.weight")
    return "lm_head.weight";
  absl::string_view rest = ggufName;
  if (!absl::ConsumePrefix(&rest, "blk.") || !absl::ConsumeSuffix(&rest, ".weight"))
    return "";
  size_t dot = rest.find('.');
  uint32_t layer = 0;
  if (dot == absl::string_view::npos || !absl::SimpleAtoi(rest.substr(0, dot), &layer) ||
      absl::StrCat(layer) != rest.substr(0, dot))
    return "";
  for (const GgufLayerTensor &n : layerTensors)
    if (rest.substr(dot + 1) == n.gguf)
      return absl::StrCat("model.layers.", layer, ".", n.hf, ".weight");
  return "";
}

absl::StatusOr<const GgufTensor *> MappedGgufImport::find(const std::string &hfName) const {
  auto it = names.find(hfName);
  if (it == names.end())
    return absl::NotFoundError(absl::StrCat(reader->path(), ": no tensor for '", hfName, "'"));
  return reader->tensor(it->second);
}

absl::StatusOr<std::vector<int64_t>> MappedGgufImport::shape(const std::string &hfName) const {
  MVC_ASSIGN_OR_RETURN(const GgufTensor *t, find(hfName));
  return t->hfShape();
}

bool MappedGgufImport::readsRows(const std::string &hfName) const { return contains(hfName); }

absl::StatusOr<std::vector<float>> MappedGgufImport::readRowsAsF32(const std::string &hfName,
                                                                  int64_t begin,
                                                                  int64_t count) const {
  MVC_ASSIGN_OR_RETURN(const GgufTensor *t, find(hfName));
  return reader->readRowsAsF32(t->name, begin, count);
}

absl::StatusOr<std::optional<GgufImport::Blocks>>
MappedGgufImport::readBlocks(const std::string &hfName) const {
  MVC_ASSIGN_OR_RETURN(const GgufTensor *t, find(hfName));
  return Blocks{t->type, std::string(t->bytes.begin(), t->bytes.end())};
}

std::optional<GgmlType> MappedGgufImport::blockType(const std::string &hfName) const {
  auto t = find(hfName);
  if (!t.ok()) return std::nullopt;
  return (*t)->type;
}

absl::Status MappedGgufImport::checkLayers(uint64_t layers,
                                           absl::Span<const GgufLayerTensor> layerTensors,
                                           absl::string_view blockCountKey) const {
  auto invalid = [&](const std::string &what) {
    return absl::InvalidArgumentError(absl::StrCat(reader->path(), ": ", what));
  };
  for (uint64_t i = 0; i < layers; ++i)
    for (const GgufLayerTensor &n : layerTensors)
      if (!reader->tensor(absl::StrCat("blk.", i, ".", n.gguf, ".weight")))
        return invalid(
            absl::StrCat("no tensor 'blk.", i, ".", n.gguf, ".weight' (", layers, " layers)"));
  if (!reader->tensor("output_norm.weight"))
    return invalid("no tensor 'output_norm.weight'");
  if (names.size() != 2 + layers * layerTensors.size() + (reader->tensor("output.weight") ? 1 : 0))
    return invalid(absl::StrCat("holds tensors of layers beyond ", blockCountKey, " ", layers));
  return absl::OkStatus();
}

double shortestDecimal(float value) {
  char text[32];
  auto result = std::to_chars(text, text + sizeof(text), value);
  *result.ptr = '\0';
  return std::strtod(text, nullptr);
}

} // namespace mvc
