//===- Registry.cpp - HF "architectures" names → mvc architectures -------===//
#include "architectures/common/Architecture.h"
#include "architectures/gemma3/Gemma3Graph.h"
#include "architectures/gemma3multimodal/Gemma3MultimodalGraph.h"
#include "architectures/gemma4/Gemma4Graph.h"
#include "architectures/idefics3/Idefics3Graph.h"
#include "architectures/llama/LlamaGraph.h"
#include "architectures/qwen3vl/Qwen3VLGraph.h"

#include <cstring>
#include <map>

namespace mvc {

absl::StatusOr<ArchitectureCompiler> findArchitecture(const std::string &hfName) {
  static const std::map<std::string, ArchitectureCompiler> registry = {
      {"Gemma3ForCausalLM", compileGemma3ForCausalLM},
      {"Gemma3ForConditionalGeneration", compileGemma3ForConditionalGeneration},
      {"Gemma4ForCausalLM", compileGemma4},
      {"Gemma4ForConditionalGeneration", compileGemma4},
      {"Idefics3ForConditionalGeneration", compileIdefics3ForConditionalGeneration},
      {"LlamaForCausalLM", compileLlamaForCausalLM},
      {"Qwen3VLForConditionalGeneration", compileQwen3VLForConditionalGeneration},
      {"Qwen3VLMoeForConditionalGeneration", compileQwen3VLForConditionalGeneration},
      {"SmolVLMForConditionalGeneration", compileIdefics3ForConditionalGeneration},
  };
  auto it = registry.find(hfName);
  if (it != registry.end()) return it->second;
  std::string known;
  for (auto &[name, _] : registry) known += (known.empty() ? "" : ", ") + name;
  return absl::NotFoundError("unsupported architecture '" + hfName + "' (supported: " + known + ")");
}

float roundToBf16(float value) {
  uint32_t bits;
  std::memcpy(&bits, &value, 4);
  bits = (bits + 0x7fff + ((bits >> 16) & 1)) & 0xffff0000u;
  std::memcpy(&value, &bits, 4);
  return value;
}

} // namespace mvc
