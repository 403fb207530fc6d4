//===- Rope.h - RoPE frequency tables as transformers computes them -*- C++ -*-===//
#ifndef MVC_ARCHITECTURES_COMMON_ROPE_H
#define MVC_ARCHITECTURES_COMMON_ROPE_H

#include "architectures/common/HfConfig.h"

#include <string>
#include <vector>

namespace mvc {

struct RopeParams {
  std::string type = "default";   // default | linear | proportional | llama3
  double theta = 10000.0;
  double factor = 1.0;            // linear / proportional / llama3 scaling
  double partialRotaryFactor = 1.0;
  // llama3: wavelengths above originalMaxPositions / lowFreqFactor are divided by factor,
  // those below originalMaxPositions / highFreqFactor kept, the ones between blended.
  double lowFreqFactor = 1.0, highFreqFactor = 4.0;
  int64_t originalMaxPositions = 8192;
};

/// Reads one `rope_parameters` entry (or a v4 `rope_scaling` merged over a theta);
/// unsupported rope types are an error naming the field.
RopeParams readRopeParams(ConfigFields &fields, double defaultTheta);

/// inv_freq[i] for the rotate-half pairs of a head of `headDim`, in f32 as HF computes it
/// (arange in f32, pow in f32, 1/x in f32, then the scaling). The table has headDim/2
/// entries, or fewer for a partial rotary factor (`int(headDim * p)` rotated dims).
std::vector<float> ropeInvFreq(const RopeParams &params, int64_t headDim);

} // namespace mvc

#endif
