//===- ManifestWriter.cpp - typed manifest to its JSON text ---------------===//
#include "runtime/artifact/ManifestWriter.h"

namespace mvc {

using Json = nlohmann::ordered_json;

namespace {

Json shapeJson(const std::vector<Expr> &shape) {
  Json out = Json::array();
  for (const Expr &dim : shape)
    out.push_back(dim.toJson());
  return out;
}

/// name, dtype, shape: a state; program inputs and outputs add their buffer.
Json tensorJson(const TensorInfo &tensor) {
  return {{"name", tensor.name},
          {"dtype", std::string(dtypeName(tensor.dtype))},
          {"shape", shapeJson(tensor.shape)}};
}

Json targetJson(const TargetInfo &target) {
  Json out = {{"kind", target.kind}};
  if (target.kind == "cpu") {
    out["cpu"] = target.cpu;
    out["cpu_features"] = target.cpuFeatures;
    return out;
  }
  out["variants"] = Json::array();
  for (const KernelVariant &variant : target.variants)
    out["variants"].push_back(
        {{"arch", variant.arch}, {"format", variant.format}, {"section", variant.section}});
  return out;
}

Json weightJson(const WeightInfo &weight) {
  return {{"name", weight.name},     {"dtype", std::string(dtypeName(weight.dtype))},
          {"shape", weight.shape},   {"layout", weight.layout},
          {"offset", weight.offset}, {"size", weight.size}};
}

Json bufferJson(const BufferInfo &buffer, const Manifest &manifest) {
  Json out = {{"id", buffer.id}, {"kind", std::string(bufferKindName(buffer.kind))}};
  switch (buffer.kind) {
  case BufferKind::Input:
    out["index"] = buffer.index;
    break;
  case BufferKind::Output:
    out["index"] = buffer.index;
    if (buffer.size)
      out["size"] = buffer.size->toJson();
    break;
  case BufferKind::Weight:
    out["weight"] = manifest.weights[buffer.index].name;
    break;
  case BufferKind::State:
    out["state"] = manifest.states[buffer.index].name;
    break;
  case BufferKind::Transient:
    out["size"] = buffer.size.value_or(Expr::constant(0)).toJson();
    out["first"] = buffer.first;
    out["last"] = buffer.last;
    break;
  }
  return out;
}

Json stepJson(const StepInfo &step, const ProgramInfo &program, bool gpu) {
  auto idOf = [&](int64_t position) { return program.buffers[position].id; };
  if (step.kind == StepKind::Copy)
    return {{"kind", "copy"},
            {"src", idOf(step.src)},
            {"src_offset", step.srcOffset.toJson()},
            {"dst", idOf(step.dst)},
            {"dst_offset", step.dstOffset.toJson()},
            {"size", step.size.toJson()}};
  Json out = {
      {"kind", "dispatch"}, {"kernel", step.kernel}, {"workgroups", step.workgroups.toJson()}};
  if (!step.part.empty()) out["part"] = step.part;
  if (gpu) {
    out["block"] = step.block;
    out["shared_bytes"] = step.sharedBytes;
  }
  out["bindings"] = Json::array();
  for (int64_t position : step.bindings)
    out["bindings"].push_back(idOf(position));
  out["push"] = shapeJson(step.push);
  return out;
}

Json programJson(const ProgramInfo &program, const Manifest &manifest) {
  Json out = {{"name", program.name}, {"symbols", program.symbols}};
  for (auto [key, tensors] :
       {std::make_pair("inputs", &program.inputs), std::make_pair("outputs", &program.outputs)}) {
    out[key] = Json::array();
    for (const TensorInfo &tensor : *tensors) {
      Json entry = tensorJson(tensor);
      entry["buffer"] = program.buffers[tensor.buffer].id;
      out[key].push_back(std::move(entry));
    }
  }
  out["buffers"] = Json::array();
  for (const BufferInfo &buffer : program.buffers)
    out["buffers"].push_back(bufferJson(buffer, manifest));
  out["steps"] = Json::array();
  bool gpu = manifest.target.kind != "cpu";
  for (const StepInfo &step : program.steps)
    out["steps"].push_back(stepJson(step, program, gpu));
  return out;
}

} // namespace

std::string writeManifest(const Manifest &manifest) {
  Json out = {{"format_version", manifest.formatVersion},
              {"producer", manifest.producer},
              {"source", {{"path", manifest.sourcePath}, {"kind", manifest.sourceKind}}},
              {"architecture", manifest.architecture},
              {"config", manifest.config},
              {"target", targetJson(manifest.target)},
              {"weights", Json::array()},
              {"states", Json::array()},
              {"load_symbols", Json::object()},
              {"programs", Json::array()}};
  for (const WeightInfo &weight : manifest.weights)
    out["weights"].push_back(weightJson(weight));
  for (const TensorInfo &state : manifest.states)
    out["states"].push_back(tensorJson(state));
  for (const auto &[name, value] : manifest.loadSymbols)
    out["load_symbols"][name] = value;
  for (const ProgramInfo &program : manifest.programs)
    out["programs"].push_back(programJson(program, manifest));
  if (!manifest.languageModel.is_null())
    out["language_model"] = manifest.languageModel;
  return out.dump(1);
}

} // namespace mvc
