//===- mvc-run.cpp - run a .mvc artifact: generate, or invoke its programs -===//
//
// Generation (--prompt-ids) lives in Generate.cpp. Program invocations are like
// iree-run-module: each --function starts an invocation whose --input files follow it;
// invocations run in order on one loaded model, so states (KV caches) carry over. Outputs
// are written only after every invocation succeeded, each file atomically; on any error
// nothing is left behind.
//
//===----------------------------------------------------------------------===//
#include <cerrno>
#include "runtime/util/ToolMain.h"
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <map>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "mvc/Runtime.h"
#include "runtime/util/Npy.h"
#include "runtime/util/StatusMacros.h"
#include "tools/mvc-run/Generate.h"
#include "tools/mvc-run/Options.h"

namespace {

using namespace mvc;
using namespace mvc::run;

/// Reads the inputs of one invocation; bf16 inputs accept '<u2' files.
absl::StatusOr<std::vector<HostTensor>> readInputs(const ProgramSignature &program,
                                                   const Invocation &invocation) {
  std::vector<HostTensor> tensors;
  for (size_t i = 0; i < invocation.inputs.size(); ++i) {
    NpyReadOptions options;
    options.u2AsBf16 = i < program.inputs.size() && program.inputs[i].dtype == DType::BF16;
    MVC_ASSIGN_OR_RETURN(NpyArray array, readNpy(invocation.inputs[i], options));
    MVC_ASSIGN_OR_RETURN(HostTensor tensor, HostTensor::fromBytes(array.dtype, array.shape,
                                                                  array.data.data(),
                                                                  array.data.size()));
    tensors.push_back(std::move(tensor));
  }
  return tensors;
}

struct PendingOutput {
  std::string path;
  HostTensor tensor;
};

/// Writes every output or none: on failure, the files already written are removed.
absl::Status writeOutputs(const std::string &dir, const std::vector<PendingOutput> &outputs) {
  std::error_code error;
  std::filesystem::create_directories(dir, error);
  if (error)
    return absl::InternalError(absl::StrCat(dir, ": cannot create the output directory: ",
                                            error.message()));
  for (size_t i = 0; i < outputs.size(); ++i) {
    const HostTensor &tensor = outputs[i].tensor;
    absl::Status status = writeNpy(outputs[i].path, tensor.dtype(), tensor.shape(),
                                   tensor.data(), tensor.byteSize());
    if (!status.ok()) {
      for (size_t j = 0; j < i; ++j)
        std::filesystem::remove(outputs[j].path, error);
      return status;
    }
  }
  return absl::OkStatus();
}

std::string shapeText(const std::vector<int64_t> &shape) {
  return absl::StrCat("[", absl::StrJoin(shape, ", "), "]");
}

absl::Status invokePrograms(Options options, Model *model) {
  std::vector<ProgramSignature> programs = model->programs();
  if (options.invocations.empty()) {
    if (options.dumpSchedule && options.looseInputs.empty())
      return absl::OkStatus();
    if (programs.size() != 1) {
      std::vector<std::string> names;
      for (const ProgramSignature &program : programs)
        names.push_back(program.name);
      return absl::InvalidArgumentError(absl::StrCat(
          options.artifact, " has ", programs.size(), " programs (", absl::StrJoin(names, ", "),
          "): choose one with --function"));
    }
    options.invocations.push_back({programs[0].name, options.looseInputs});
  }

  std::map<std::string, int> callCount, callIndex;
  for (const Invocation &invocation : options.invocations)
    ++callCount[invocation.function];
  std::vector<PendingOutput> pending;
  for (const Invocation &invocation : options.invocations) {
    auto program = std::find_if(programs.begin(), programs.end(), [&](const auto &p) {
      return p.name == invocation.function;
    });
    std::string call = invocation.function;
    if (callCount[call] > 1)
      call = absl::StrCat(call, ".", callIndex[invocation.function]++);
    if (program == programs.end()) {
      std::vector<std::string> names;
      for (const ProgramSignature &p : programs)
        names.push_back(p.name);
      return absl::NotFoundError(absl::StrCat("--function ", invocation.function, ": ",
                                              options.artifact, " has no such program (it has: ",
                                              absl::StrJoin(names, ", "), ")"));
    }
    absl::StatusOr<std::vector<HostTensor>> inputs = readInputs(*program, invocation);
    if (!inputs.ok())
      return absl::Status(inputs.status().code(),
                          absl::StrCat(call, ": ", inputs.status().message()));
    absl::StatusOr<std::vector<HostTensor>> outputs =
        model->execute(invocation.function, std::move(*inputs));
    if (!outputs.ok())
      return absl::Status(outputs.status().code(),
                          absl::StrCat(call, " (inputs: ",
                                       invocation.inputs.empty()
                                           ? "none"
                                           : absl::StrJoin(invocation.inputs, ", "),
                                       "): ", outputs.status().message()));
    for (size_t i = 0; i < outputs->size(); ++i) {
      std::string name = absl::StrCat(call, ".", program->outputs[i].name);
      HostTensor &tensor = (*outputs)[i];
      std::cout << name << ": " << dtypeName(tensor.dtype()) << " " << shapeText(tensor.shape())
                << "\n";
      if (!options.outputDir.empty())
        pending.push_back({(std::filesystem::path(options.outputDir) / (name + ".npy")).string(),
                           std::move(tensor)});
    }
  }
  if (options.profile)
    model->printProfile(std::cerr);
  if (!options.outputDir.empty())
    MVC_RETURN_IF_ERROR(writeOutputs(options.outputDir, pending));
  return absl::OkStatus();
}

absl::Status runArtifact(Options options) {
  SessionOptions sessionOptions;
  sessionOptions.device = options.device;
  sessionOptions.numThreads = options.threads;
  MVC_ASSIGN_OR_RETURN(std::unique_ptr<Session> session, Session::create(sessionOptions));
  LoadOptions loadOptions;
  loadOptions.loadSymbols = options.loadSymbols;
  loadOptions.verifyWeights = options.verify;
  loadOptions.poisonStates = options.poisonStates;
  // --dump-schedule alone needs no device: a cuda artifact dumps on a machine without one.
  loadOptions.scheduleOnly = options.dumpSchedule && !options.generating() &&
                             options.invocations.empty() && options.looseInputs.empty();
  MVC_ASSIGN_OR_RETURN(std::unique_ptr<Model> model, session->load(options.artifact, loadOptions));
  if (options.dumpSchedule)
    model->dumpSchedule(std::cout);
  model->setProfiling(options.profile);
  if (options.generating())
    return generate(options, *model);
  return invokePrograms(std::move(options), model.get());
}

} // namespace

static int toolMain(int argc, char **argv) {
  absl::StatusOr<Options> options = parseArgs(argc, argv);
  if (options.ok() && options->help) {
    printHelp();
    return 0;
  }
  absl::Status status = options.ok() ? runArtifact(std::move(*options)) : options.status();
  if (!status.ok()) {
    std::cout.flush();
    std::cerr << "mvc-run: error: " << status.message() << "\n";
    return 1;
  }
  return 0;
}

int main(int argc, char **argv) {
  return mvc::guardedMain("mvc-run", [&] { return toolMain(argc, argv); });
}
