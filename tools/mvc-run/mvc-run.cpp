//===- mvc-run.cpp - run the programs of a .mvc artifact on .npy inputs ----===//
//
// Like iree-run-module: each --function starts an invocation whose --input files follow it;
// invocations run in order on one loaded model, so states (KV caches) carry over. Outputs
// are written only after every invocation succeeded, each file atomically; on any error
// nothing is left behind.
//
//===----------------------------------------------------------------------===//
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <map>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "mvc/Runtime.h"
#include "runtime/hal/cpu/ThreadPool.h"
#include "runtime/util/Npy.h"
#include "runtime/util/StatusMacros.h"

namespace {

using namespace mvc;

struct Invocation {
  std::string function;
  std::vector<std::string> inputs;
};

struct Options {
  std::string artifact;
  std::vector<Invocation> invocations;
  std::vector<std::string> looseInputs; // --input before any --function
  std::string outputDir;
  std::string device = "cpu";
  int threads = 0;
  std::vector<std::pair<std::string, int64_t>> loadSymbols;
  bool dumpSchedule = false;
  bool profile = false;
  bool verify = false;
  bool help = false;
};

void printHelp() {
  std::cout << "usage: mvc-run ARTIFACT [--function NAME [--input FILE.npy]...]... [options]\n"
               "\n"
               "Runs programs of an mvc artifact on .npy inputs. Each --function starts an\n"
               "invocation; the --input flags after it are its inputs, in order. Invocations\n"
               "run in order on one loaded model, so states (KV caches) persist between them.\n"
               "Without --function, an artifact with a single program runs it on the inputs.\n"
               "\n"
               "Output files (with --output-dir DIR), one per program output:\n"
               "  DIR/FUNCTION.OUTPUT.npy      if FUNCTION is invoked once\n"
               "  DIR/FUNCTION.K.OUTPUT.npy    for its K-th invocation (K from 0) if invoked\n"
               "                               more than once\n"
               "Files are written only when every invocation succeeded. bf16 tensors are\n"
               "stored and read as '<u2' (their bit patterns).\n"
               "\n"
               "options:\n"
               "  --function NAME        program to invoke (repeatable)\n"
               "  --input FILE.npy       input of the current invocation (repeatable)\n"
               "  --output-dir DIR       write outputs there (default: none; outputs are only\n"
               "                         listed on stdout); created if missing\n"
               "  --device DEVICE        cpu (default: cpu; cuda:N and cuda-emu not yet)\n"
               "  --threads N            threads of execution (default: 0 = all "
            << ThreadPool::hardwareThreads()
            << " hardware threads)\n"
               "  --load-symbol NAME=N   override a load-time size, e.g. num_pages=256\n"
               "                         (repeatable; default: the artifact's values)\n"
               "  --dump-schedule        print every program's schedule to stdout (default: off)\n"
               "  --profile              per-step time table on stderr at exit (default: off)\n"
               "  --verify               verify the weights checksum before running\n"
               "                         (default: off; manifest and kernels are always checked)\n"
               "  --help                 this text\n";
}

absl::StatusOr<Options> parseArgs(int argc, char **argv) {
  Options options;
  std::vector<std::string> args(argv + 1, argv + argc);
  for (size_t i = 0; i < args.size(); ++i) {
    std::string arg = args[i];
    std::string value;
    bool hasInlineValue = false;
    if (arg.rfind("--", 0) == 0 && arg.find('=') != std::string::npos) {
      value = arg.substr(arg.find('=') + 1);
      arg = arg.substr(0, arg.find('='));
      hasInlineValue = true;
    }
    auto takeValue = [&]() -> absl::StatusOr<std::string> {
      if (hasInlineValue)
        return value;
      if (i + 1 >= args.size())
        return absl::InvalidArgumentError(absl::StrCat(arg, " needs a value"));
      return args[++i];
    };
    auto flagOnly = [&]() -> absl::Status {
      return hasInlineValue ? absl::InvalidArgumentError(arg + " takes no value")
                            : absl::OkStatus();
    };
    if (arg == "--help" || arg == "-h") {
      options.help = true;
    } else if (arg == "--function") {
      MVC_ASSIGN_OR_RETURN(std::string name, takeValue());
      options.invocations.push_back({name, {}});
    } else if (arg == "--input") {
      MVC_ASSIGN_OR_RETURN(std::string file, takeValue());
      (options.invocations.empty() ? options.looseInputs : options.invocations.back().inputs)
          .push_back(file);
    } else if (arg == "--output-dir") {
      MVC_ASSIGN_OR_RETURN(options.outputDir, takeValue());
    } else if (arg == "--device") {
      MVC_ASSIGN_OR_RETURN(options.device, takeValue());
    } else if (arg == "--threads") {
      MVC_ASSIGN_OR_RETURN(std::string text, takeValue());
      if (!absl::SimpleAtoi(text, &options.threads) || options.threads < 0)
        return absl::InvalidArgumentError("--threads expects an integer >= 0, got '" + text + "'");
    } else if (arg == "--load-symbol") {
      MVC_ASSIGN_OR_RETURN(std::string text, takeValue());
      size_t eq = text.find('=');
      int64_t number;
      if (eq == std::string::npos || eq == 0 || !absl::SimpleAtoi(text.substr(eq + 1), &number))
        return absl::InvalidArgumentError("--load-symbol expects NAME=INTEGER, got '" + text + "'");
      options.loadSymbols.emplace_back(text.substr(0, eq), number);
    } else if (arg == "--dump-schedule") {
      MVC_RETURN_IF_ERROR(flagOnly());
      options.dumpSchedule = true;
    } else if (arg == "--profile") {
      MVC_RETURN_IF_ERROR(flagOnly());
      options.profile = true;
    } else if (arg == "--verify") {
      MVC_RETURN_IF_ERROR(flagOnly());
      options.verify = true;
    } else if (arg.rfind("-", 0) == 0 && arg != "-") {
      return absl::InvalidArgumentError("unknown flag '" + arg + "' (see --help)");
    } else if (options.artifact.empty()) {
      options.artifact = arg;
    } else {
      return absl::InvalidArgumentError(absl::StrCat("unexpected argument '", arg,
                                                     "' (the artifact is '", options.artifact,
                                                     "')"));
    }
  }
  if (options.help)
    return options;
  if (options.artifact.empty())
    return absl::InvalidArgumentError("no artifact given (usage: mvc-run ARTIFACT ...; see --help)");
  if (!options.looseInputs.empty() && !options.invocations.empty())
    return absl::InvalidArgumentError(absl::StrCat("--input ", options.looseInputs.front(),
                                                   " comes before any --function"));
  return options;
}

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

absl::Status run(Options options) {
  SessionOptions sessionOptions;
  sessionOptions.device = options.device;
  sessionOptions.numThreads = options.threads;
  MVC_ASSIGN_OR_RETURN(std::unique_ptr<Session> session, Session::create(sessionOptions));
  LoadOptions loadOptions;
  loadOptions.loadSymbols = options.loadSymbols;
  loadOptions.verifyWeights = options.verify;
  MVC_ASSIGN_OR_RETURN(std::unique_ptr<Model> model, session->load(options.artifact, loadOptions));
  std::vector<ProgramSignature> programs = model->programs();

  if (options.dumpSchedule)
    model->dumpSchedule(std::cout);
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
  model->setProfiling(options.profile);

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

} // namespace

int main(int argc, char **argv) {
  absl::StatusOr<Options> options = parseArgs(argc, argv);
  if (options.ok() && options->help) {
    printHelp();
    return 0;
  }
  absl::Status status = options.ok() ? run(std::move(*options)) : options.status();
  if (!status.ok()) {
    std::cout.flush();
    std::cerr << "mvc-run: error: " << status.message() << "\n";
    return 1;
  }
  return 0;
}
