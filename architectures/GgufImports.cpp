//===- GgufImports.cpp - GGUF general.architecture → importers ------------===//
#include "architectures/common/GgufImport.h"

#include <functional>
#include <map>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "architectures/gemma3/Gemma3Gguf.h"
#include "architectures/llama/LlamaGguf.h"
#include "runtime/util/StatusMacros.h"

namespace mvc {

namespace {

template <typename Import>
absl::StatusOr<std::unique_ptr<GgufImport>> importAs(const GgufReader &reader) {
  MVC_ASSIGN_OR_RETURN(Import import, Import::fromGguf(reader));
  return std::unique_ptr<GgufImport>(new Import(std::move(import)));
}

} // namespace

absl::StatusOr<std::unique_ptr<GgufImport>> importGguf(const GgufReader &reader) {
  using Factory = std::function<absl::StatusOr<std::unique_ptr<GgufImport>>(const GgufReader &)>;
  static const std::map<std::string, Factory> registry = {
      {"gemma3", importAs<Gemma3GgufImport>},
      {"llama", importAs<LlamaGgufImport>},
  };
  MVC_ASSIGN_OR_RETURN(absl::string_view arch, reader.getString("general.architecture"));
  auto it = registry.find(std::string(arch));
  if (it == registry.end()) {
    std::vector<std::string> known;
    for (const auto &entry : registry)
      known.push_back(entry.first);
    return absl::InvalidArgumentError(
        absl::StrCat(reader.path(), ": unsupported GGUF architecture '", arch,
                     "' (mvc imports: ", absl::StrJoin(known, ", "), ")"));
  }
  return it->second(reader);
}

} // namespace mvc
