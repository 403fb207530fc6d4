//===- Model.cpp - binding symbols, planning, running a schedule ----------===//
//
// execute(): check the inputs against the program signature and bind the symbols from
// their shapes; fetch or build the plan for that binding (buffer sizes, arena offsets,
// workgroup counts, push constants, copy ranges); then the device (Device.h) runs the
// steps. No math here.
//
//===----------------------------------------------------------------------===//
#include <chrono>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "runtime/executor/ArenaPlan.h"
#include "runtime/executor/LanguageModel.h"
#include "runtime/executor/ModelImpl.h"
#include "runtime/util/StatusMacros.h"

namespace mvc {

namespace {

/// Plans kept per program; a server that sees many distinct prompt lengths starts over
/// rather than growing without bound.
constexpr size_t kMaxCachedPlans = 256;

std::string describeShape(const std::vector<Expr> &shape) {
  std::vector<std::string> dims;
  for (const Expr &dim : shape)
    dims.push_back(dim.toString());
  return absl::StrCat("[", absl::StrJoin(dims, ", "), "]");
}

std::string inputName(const ProgramInfo &program, size_t index) {
  return absl::StrCat("input ", index, " ('", program.inputs[index].name, "')");
}

/// Checks `inputs` against the program and returns the symbol values they bind.
absl::StatusOr<std::vector<int64_t>> bindSymbols(const ProgramInfo &program,
                                                 const std::vector<TensorShape> &inputs) {
  if (inputs.size() != program.inputs.size()) {
    std::vector<std::string> names;
    for (const TensorInfo &input : program.inputs)
      names.push_back(input.name);
    return absl::InvalidArgumentError(absl::StrCat(
        "program '", program.name, "' takes ", program.inputs.size(), " inputs (",
        absl::StrJoin(names, ", "), "), got ", inputs.size()));
  }
  std::vector<int64_t> values(program.symbols.size(), -1);
  std::vector<std::string> boundBy(program.symbols.size());
  for (size_t i = 0; i < inputs.size(); ++i) {
    const TensorInfo &expected = program.inputs[i];
    const TensorShape &input = inputs[i];
    if (input.dtype != expected.dtype)
      return absl::InvalidArgumentError(absl::StrCat(inputName(program, i), ": dtype ",
                                                     dtypeName(input.dtype), ", expected ",
                                                     dtypeName(expected.dtype)));
    if (input.shape.size() != expected.shape.size())
      return absl::InvalidArgumentError(absl::StrCat(
          inputName(program, i), ": rank ", input.shape.size(), ", expected ",
          expected.shape.size(), " ", describeShape(expected.shape)));
    for (size_t d = 0; d < expected.shape.size(); ++d) {
      const Expr &dim = expected.shape[d];
      int64_t actual = input.shape[d];
      std::string where = absl::StrCat(inputName(program, i), " dim ", d);
      if (dim.isConstant()) {
        if (actual != dim.leaf().value)
          return absl::InvalidArgumentError(
              absl::StrCat(where, ": ", actual, ", expected ", dim.leaf().value));
        continue;
      }
      auto symbol = std::find(program.symbols.begin(), program.symbols.end(), dim.leaf().name);
      if (symbol == program.symbols.end())
        continue; // a load symbol: checked against its value below, in the plan
      size_t s = symbol - program.symbols.begin();
      if (values[s] < 0) {
        values[s] = actual;
        boundBy[s] = where;
      } else if (values[s] != actual) {
        return absl::InvalidArgumentError(absl::StrCat(where, ": ", dim.leaf().name, " = ",
                                                       actual, ", but ", boundBy[s], " bound ",
                                                       dim.leaf().name, " = ", values[s]));
      }
    }
  }
  return values;
}

} // namespace

absl::StatusOr<const ResolvedPlan *>
Model::Impl::plan(LoadedProgram &program, const std::vector<int64_t> &symbols,
                  const std::vector<TensorShape> &inputs) {
  if (auto it = program.plans.find(symbols); it != program.plans.end())
    return &it->second;
  const ProgramInfo &info = *program.info;
  auto lookup = [&](const std::string &name) -> std::optional<int64_t> {
    for (size_t i = 0; i < info.symbols.size(); ++i)
      if (info.symbols[i] == name)
        return symbols[i];
    for (const auto &[symbol, value] : loadSymbols)
      if (symbol == name)
        return value;
    return std::nullopt;
  };
  auto evaluate = [&](const Expr &expr, const std::string &where) -> absl::StatusOr<uint64_t> {
    absl::StatusOr<int64_t> value = expr.evaluateSize(lookup);
    if (!value.ok())
      return absl::InvalidArgumentError(absl::StrCat("program '", info.name, "': ", where, ": ",
                                                     value.status().message()));
    return static_cast<uint64_t>(*value);
  };

  auto start = std::chrono::steady_clock::now();
  ResolvedPlan plan;
  plan.id = ++plansMade;
  // Load symbols in input shapes must match the loaded value.
  for (size_t i = 0; i < info.inputs.size(); ++i)
    for (size_t d = 0; d < info.inputs[i].shape.size(); ++d) {
      MVC_ASSIGN_OR_RETURN(uint64_t expected, evaluate(info.inputs[i].shape[d], "input shape"));
      if (static_cast<uint64_t>(inputs[i].shape[d]) != expected)
        return absl::InvalidArgumentError(absl::StrCat(
            inputName(info, i), " dim ", d, ": ", inputs[i].shape[d], ", expected ",
            info.inputs[i].shape[d].toString(), " = ", expected));
    }
  for (const TensorInfo &output : info.outputs) {
    std::vector<int64_t> shape;
    for (const Expr &dim : output.shape) {
      MVC_ASSIGN_OR_RETURN(uint64_t value, evaluate(dim, "output '" + output.name + "' shape"));
      shape.push_back(static_cast<int64_t>(value));
    }
    plan.outputShapes.push_back(std::move(shape));
  }

  std::vector<ArenaRequest> requests;
  std::vector<size_t> transients;
  for (size_t b = 0; b < info.buffers.size(); ++b) {
    const BufferInfo &buffer = info.buffers[b];
    std::string where = absl::StrCat("buffer ", buffer.id);
    uint64_t size = 0;
    switch (buffer.kind) {
    case BufferKind::Input:
      size = inputs[buffer.index].byteSize();
      break;
    case BufferKind::Weight:
      size = manifest().weights[buffer.index].size;
      break;
    case BufferKind::State:
      size = stateBytes[buffer.index];
      break;
    case BufferKind::Output: {
      uint64_t shapeBytes = dtypeSize(info.outputs[buffer.index].dtype);
      for (int64_t dim : plan.outputShapes[buffer.index])
        if (__builtin_mul_overflow(shapeBytes, static_cast<uint64_t>(dim), &shapeBytes))
          return absl::InvalidArgumentError(absl::StrCat("program '", info.name, "': output '",
                                                         info.outputs[buffer.index].name,
                                                         "': byte size overflows"));
      size = shapeBytes;
      if (buffer.size) {
        MVC_ASSIGN_OR_RETURN(size, evaluate(*buffer.size, where + " size"));
        if (size < shapeBytes)
          return absl::InvalidArgumentError(absl::StrCat(
              "program '", info.name, "': ", where, " holds ", size, " bytes but output '",
              info.outputs[buffer.index].name, "' needs ", shapeBytes));
      }
      break;
    }
    case BufferKind::Transient:
      MVC_ASSIGN_OR_RETURN(size, evaluate(*buffer.size, where + " size"));
      requests.push_back({size, buffer.first, buffer.last});
      transients.push_back(b);
      break;
    }
    plan.bufferSizes.push_back(size);
  }
  ArenaPlan arenaPlan = planArena(requests);
  plan.arenaOffsets.assign(info.buffers.size(), 0);
  for (size_t t = 0; t < transients.size(); ++t)
    plan.arenaOffsets[transients[t]] = arenaPlan.offsets[t];
  plan.arenaSize = arenaPlan.size;

  for (size_t s = 0; s < info.steps.size(); ++s) {
    const StepInfo &step = info.steps[s];
    std::string where = absl::StrCat("step ", s);
    ResolvedPlan::Step resolved;
    if (step.kind == StepKind::Dispatch) {
      MVC_ASSIGN_OR_RETURN(uint64_t workgroups, evaluate(step.workgroups, where + " workgroups"));
      resolved.workgroups = static_cast<int64_t>(workgroups);
      for (size_t i = 0; i < step.push.size(); ++i) {
        absl::StatusOr<int64_t> value = step.push[i].evaluate(lookup);
        if (!value.ok())
          return absl::InvalidArgumentError(absl::StrCat("program '", info.name, "': ", where,
                                                         " push[", i, "]: ",
                                                         value.status().message()));
        resolved.push.push_back(*value);
      }
    } else {
      MVC_ASSIGN_OR_RETURN(resolved.srcOffset, evaluate(step.srcOffset, where + " src_offset"));
      MVC_ASSIGN_OR_RETURN(resolved.dstOffset, evaluate(step.dstOffset, where + " dst_offset"));
      MVC_ASSIGN_OR_RETURN(resolved.size, evaluate(step.size, where + " size"));
      for (auto [buffer, offset, role] : {std::make_tuple(step.src, resolved.srcOffset, "source"),
                                          std::make_tuple(step.dst, resolved.dstOffset, "destination")})
        if (offset > plan.bufferSizes[buffer] || resolved.size > plan.bufferSizes[buffer] - offset)
          return absl::InvalidArgumentError(absl::StrCat(
              "program '", info.name, "': ", where, ": copy of ", resolved.size,
              " bytes at offset ", offset, " overruns its ", role, " buffer ",
              info.buffers[buffer].id, " (", plan.bufferSizes[buffer], " bytes)"));
    }
    plan.steps.push_back(std::move(resolved));
  }
  if (program.plans.size() >= kMaxCachedPlans)
    program.plans.clear();
  planSeconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return &program.plans.emplace(symbols, std::move(plan)).first->second;
}

Model::Model(std::unique_ptr<Impl> impl) : impl(std::move(impl)) {}
Model::~Model() = default;

const LanguageModelInfo *Model::languageModel() const {
  return impl->languageModel ? &*impl->languageModel : nullptr;
}

KvPageTable *Model::kvPages() { return impl->kvPages ? &*impl->kvPages : nullptr; }

std::vector<ProgramSignature> Model::programs() const {
  std::vector<ProgramSignature> result;
  auto convert = [](const std::vector<TensorInfo> &tensors) {
    std::vector<TensorSignature> out;
    for (const TensorInfo &tensor : tensors) {
      TensorSignature signature{tensor.name, tensor.dtype, {}};
      for (const Expr &dim : tensor.shape)
        signature.shape.push_back(dim.toString());
      out.push_back(std::move(signature));
    }
    return out;
  };
  for (const ProgramInfo &program : impl->manifest().programs)
    result.push_back({program.name, convert(program.inputs), convert(program.outputs)});
  return result;
}

absl::StatusOr<std::vector<HostTensor>> Model::execute(absl::string_view programName,
                                                       std::vector<HostTensor> inputs) {
  std::lock_guard<std::mutex> lock(impl->mutex);
  LoadedProgram *program = nullptr;
  for (LoadedProgram &candidate : impl->programs)
    if (candidate.info->name == programName)
      program = &candidate;
  if (!program) {
    std::vector<std::string> names;
    for (const LoadedProgram &candidate : impl->programs)
      names.push_back(candidate.info->name);
    return absl::NotFoundError(absl::StrCat("no program '", programName, "' (the artifact has: ",
                                            absl::StrJoin(names, ", "), ")"));
  }
  const ProgramInfo &info = *program->info;
  if (!impl->device)
    return absl::FailedPreconditionError(absl::StrCat(
        "program '", info.name, "': the artifact was loaded for its schedule only"));
  std::vector<TensorShape> shapes;
  for (const HostTensor &input : inputs)
    shapes.push_back({input.dtype(), input.shape()});
  MVC_ASSIGN_OR_RETURN(std::vector<int64_t> symbols, bindSymbols(info, shapes));
  if (impl->languageModel && info.name == impl->languageModel->program)
    MVC_RETURN_IF_ERROR(checkForwardInputs(*impl->languageModel, info, inputs));
  MVC_ASSIGN_OR_RETURN(const ResolvedPlan *plan, impl->plan(*program, symbols, shapes));

  std::vector<HostTensor> outputs;
  try {
    for (size_t i = 0; i < info.outputs.size(); ++i)
      outputs.push_back(HostTensor::allocate(info.outputs[i].dtype, plan->outputShapes[i],
                                             plan->bufferSizes[info.outputs[i].buffer]));
  } catch (const std::bad_alloc &) {
    return absl::ResourceExhaustedError(
        absl::StrCat("program '", info.name, "': cannot allocate its outputs"));
  }
  size_t index = static_cast<size_t>(program - impl->programs.data());
  MVC_RETURN_IF_ERROR(impl->device->run(*impl, index, *plan, inputs, outputs,
                                        impl->profiling ? program : nullptr));
  return outputs;
}

absl::StatusOr<uint64_t>
Model::estimateActivationBytes(absl::string_view programName,
                               const std::vector<std::vector<int64_t>> &inputShapes) const {
  std::lock_guard<std::mutex> lock(impl->mutex);
  for (LoadedProgram &program : impl->programs) {
    if (program.info->name != programName)
      continue;
    const ProgramInfo &info = *program.info;
    std::vector<TensorShape> shapes;
    for (size_t i = 0; i < inputShapes.size() && i < info.inputs.size(); ++i)
      shapes.push_back({info.inputs[i].dtype, inputShapes[i]});
    if (inputShapes.size() != info.inputs.size())
      shapes.resize(inputShapes.size());  // bindSymbols names the count mismatch
    MVC_ASSIGN_OR_RETURN(std::vector<int64_t> symbols, bindSymbols(info, shapes));
    MVC_ASSIGN_OR_RETURN(const ResolvedPlan *plan, impl->plan(program, symbols, shapes));
    uint64_t bytes = plan->arenaSize;
    for (const TensorInfo &output : info.outputs)
      bytes += plan->bufferSizes[output.buffer];
    return bytes;
  }
  return absl::NotFoundError(absl::StrCat("no program '", programName, "'"));
}

void Model::setProfiling(bool enabled) {
  std::lock_guard<std::mutex> lock(impl->mutex);
  impl->profiling = enabled;
}

absl::Status Model::verifyWeights() const { return impl->reader->verifyWeights(); }

bool Model::reusesPlans() const { return impl->device && impl->device->reusesPlans(); }

Model::PlanStats Model::planStats() const {
  std::lock_guard<std::mutex> lock(impl->mutex);
  return {impl->plansMade, impl->planSeconds};
}

} // namespace mvc
