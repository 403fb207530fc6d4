//===- Rope.cpp - RoPE frequency tables as transformers computes them ----===//
#include "architectures/common/Rope.h"

#include <cmath>

namespace mvc {

RopeParams readRopeParams(ConfigFields &fields, double defaultTheta) {
  RopeParams p;
  p.type = fields.has("rope_type") ? fields.string("rope_type")
                                   : fields.string("type", std::string("default"));
  p.theta = fields.number("rope_theta", defaultTheta);
  p.factor = fields.number("factor", 1.0);
  p.partialRotaryFactor = fields.number("partial_rotary_factor", 1.0);
  if (p.type == "llama3") {
    p.lowFreqFactor = fields.number("low_freq_factor");
    p.highFreqFactor = fields.number("high_freq_factor");
    p.originalMaxPositions = fields.positive("original_max_position_embeddings");
    if (!(p.highFreqFactor > p.lowFreqFactor) || !(p.lowFreqFactor > 0))
      fields.fail("high_freq_factor", "llama3 RoPE needs 0 < low_freq_factor < high_freq_factor");
  }
  if (p.type != "default" && p.type != "linear" && p.type != "proportional" && p.type != "llama3")
    fields.fail("rope_type", "unsupported rope type '" + p.type +
                                 "' (supported: default, linear, proportional, llama3)");
  if (!(p.theta > 0)) fields.fail("rope_theta", "must be positive");
  if (!(p.factor > 0)) fields.fail("factor", "must be positive");
  return p;
}

std::vector<float> ropeInvFreq(const RopeParams &params, int64_t headDim) {
  if (params.type == "proportional") {
    // Gemma 4 full attention: the first n_rot pairs rotate with the full-dim exponent,
    // the rest pass through (zero frequency).
    int64_t rotated = int64_t(params.partialRotaryFactor * double(headDim)) / 2;
    std::vector<float> inv(headDim / 2, 0.0f);
    for (int64_t i = 0; i < rotated && i < headDim / 2; ++i) {
      float e = float(2 * i) / float(headDim);
      inv[i] = (1.0f / std::pow(float(params.theta), e)) / float(params.factor);
    }
    return inv;
  }
  int64_t dim = int64_t(double(headDim) * params.partialRotaryFactor);
  std::vector<float> inv(dim / 2);
  for (int64_t i = 0; i < dim / 2; ++i) {
    float e = float(2 * i) / float(dim);
    inv[i] = 1.0f / std::pow(float(params.theta), e);
    if (params.type == "linear") inv[i] = inv[i] / float(params.factor);
  }
  if (params.type == "llama3") {
    // transformers' _compute_llama3_parameters, in its f32 tensor arithmetic.
    float factor = float(params.factor), low = float(params.lowFreqFactor),
          high = float(params.highFreqFactor), old = float(params.originalMaxPositions);
    float lowWavelen = old / low, highWavelen = old / high;
    for (float &f : inv) {
      float wavelen = float(2 * M_PI) / f;
      float scaled = wavelen > lowWavelen ? f / factor : f;
      bool medium = !(wavelen < highWavelen) && !(wavelen > lowWavelen);
      if (medium) {
        float smooth = (old / wavelen - low) / (high - low);
        scaled = (1 - smooth) * scaled / factor + smooth * scaled;
      }
      f = scaled;
    }
  }
  return inv;
}

} // namespace mvc
