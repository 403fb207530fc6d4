//===- SiglipConfig.cpp - SigLIP vision tower configuration --------------===//
#include "architectures/common/SiglipConfig.h"

namespace mvc {

OrderedJson SiglipVisionConfig::toJson() const {
  return {{"hidden_size", hiddenSize},   {"intermediate_size", intermediateSize},
          {"num_hidden_layers", numLayers}, {"num_attention_heads", numHeads},
          {"num_channels", numChannels}, {"image_size", imageSize},
          {"patch_size", patchSize},     {"layer_norm_eps", layerNormEps}};
}

SiglipVisionConfig parseSiglipVisionConfig(ConfigFields &f, const SiglipVisionConfig &d) {
  SiglipVisionConfig c;
  c.hiddenSize = f.positive("hidden_size", d.hiddenSize);
  c.intermediateSize = f.positive("intermediate_size", d.intermediateSize);
  c.numLayers = f.positive("num_hidden_layers", d.numLayers);
  c.numHeads = f.positive("num_attention_heads", d.numHeads);
  c.numChannels = f.positive("num_channels", d.numChannels);
  c.imageSize = f.positive("image_size", d.imageSize);
  c.patchSize = f.positive("patch_size", d.patchSize);
  c.layerNormEps = f.positiveNumber("layer_norm_eps", d.layerNormEps);
  std::string act = f.string("hidden_act", std::string("gelu_pytorch_tanh"));
  if (act != "gelu_pytorch_tanh")
    f.fail("hidden_act", "unsupported '" + act + "' (SigLIP uses gelu_pytorch_tanh)");
  if (c.hiddenSize % c.numHeads != 0)
    f.fail("num_attention_heads", "must divide hidden_size");
  if (c.imageSize % c.patchSize != 0) f.fail("patch_size", "must divide image_size");
  if (f.boolean("vision_use_head", false))
    f.fail("vision_use_head", "the attention-pooling head is not supported (no model here uses it)");
  return c;
}

} // namespace mvc
