//===- Generate.h - mvc-run's generation mode ------------------------------===//
#ifndef MVC_TOOLS_MVC_RUN_GENERATE_H
#define MVC_TOOLS_MVC_RUN_GENERATE_H

#include "absl/status/status.h"
#include "mvc/Runtime.h"
#include "tools/mvc-run/Options.h"

namespace mvc::run {

/// Generates from options.prompts on `model` (a language model) and prints as --help says.
absl::Status generate(const Options &options, Model &model);

} // namespace mvc::run

#endif // MVC_TOOLS_MVC_RUN_GENERATE_H
