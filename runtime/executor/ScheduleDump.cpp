//===- ScheduleDump.cpp - printing schedules and profiles -----------------===//
#include <algorithm>
#include <cctype>
#include <map>
#include <iomanip>
#include <set>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "runtime/executor/ModelImpl.h"

namespace mvc {

namespace {

std::string shapeText(const std::vector<Expr> &shape) {
  std::vector<std::string> dims;
  for (const Expr &dim : shape)
    dims.push_back(dim.toString());
  return absl::StrCat("[", absl::StrJoin(dims, ", "), "]");
}

/// "2 (transient)", "0 (input x)", "1 (weight w0)".
std::string bufferText(const Manifest &manifest, const ProgramInfo &program, int64_t position) {
  const BufferInfo &buffer = program.buffers[position];
  std::string text = absl::StrCat(buffer.id, " (", bufferKindName(buffer.kind));
  switch (buffer.kind) {
  case BufferKind::Input:
    absl::StrAppend(&text, " ", program.inputs[buffer.index].name);
    break;
  case BufferKind::Output:
    absl::StrAppend(&text, " ", program.outputs[buffer.index].name);
    break;
  case BufferKind::Weight:
    absl::StrAppend(&text, " ", manifest.weights[buffer.index].name);
    break;
  case BufferKind::State:
    absl::StrAppend(&text, " ", manifest.states[buffer.index].name);
    break;
  case BufferKind::Transient:
    break;
  }
  return text + ")";
}

void dumpProgram(std::ostream &os, const Manifest &manifest, const ProgramInfo &program) {
  os << "program " << program.name << " (symbols: "
     << (program.symbols.empty() ? "none" : absl::StrJoin(program.symbols, ", ")) << ")\n";
  for (const TensorInfo &input : program.inputs)
    os << "  input  " << input.name << ": " << dtypeName(input.dtype) << " "
       << shapeText(input.shape) << " in buffer " << program.buffers[input.buffer].id << "\n";
  for (const TensorInfo &output : program.outputs)
    os << "  output " << output.name << ": " << dtypeName(output.dtype) << " "
       << shapeText(output.shape) << " in buffer " << program.buffers[output.buffer].id << "\n";
  os << "  buffers:\n";
  for (size_t b = 0; b < program.buffers.size(); ++b) {
    const BufferInfo &buffer = program.buffers[b];
    os << "    " << bufferText(manifest, program, b);
    if (buffer.size)
      os << " size " << buffer.size->toString();
    if (buffer.kind == BufferKind::Transient)
      os << " live [" << buffer.first << ", " << buffer.last << "]";
    if (buffer.kind == BufferKind::Weight)
      os << " " << manifest.weights[buffer.index].size << " bytes "
         << manifest.weights[buffer.index].layout;
    os << "\n";
  }
  std::set<std::string> kernels;
  size_t dispatches = 0;
  for (const StepInfo &step : program.steps)
    if (step.kind == StepKind::Dispatch) {
      kernels.insert(step.kernel);
      ++dispatches;
    }
  os << "  steps: " << dispatches << " dispatches of " << kernels.size() << " distinct kernels\n";
  for (size_t s = 0; s < program.steps.size(); ++s) {
    const StepInfo &step = program.steps[s];
    if (step.kind == StepKind::Copy) {
      os << "    " << s << ": copy " << step.size.toString() << " bytes from "
         << bufferText(manifest, program, step.src) << " + " << step.srcOffset.toString()
         << " to " << bufferText(manifest, program, step.dst) << " + "
         << step.dstOffset.toString() << "\n";
      continue;
    }
    std::vector<std::string> push, bindings;
    for (const Expr &value : step.push)
      push.push_back(value.toString());
    for (int64_t position : step.bindings)
      bindings.push_back(bufferText(manifest, program, position));
    os << "    " << s << ": dispatch " << step.kernel << " workgroups "
       << step.workgroups.toString() << " push [" << absl::StrJoin(push, ", ") << "]";
    if (step.block != std::array<int64_t, 3>{1, 1, 1} || step.sharedBytes)
      os << " block [" << absl::StrJoin(step.block, ", ") << "] shared_bytes " << step.sharedBytes;
    os << "\n"
       << "       bindings: " << absl::StrJoin(bindings, ", ") << "\n";
  }
}

/// The kind of a dispatch kernel named <function>_d<N>_<kind> by the compiler; other
/// names (copies, hand-written test kernels) are their own kind.
std::string kernelKind(const std::string &name) {
  for (size_t at = name.find("_d"); at != std::string::npos; at = name.find("_d", at + 1)) {
    size_t end = at + 2;
    while (end < name.size() && std::isdigit(static_cast<unsigned char>(name[end]))) ++end;
    if (end > at + 2 && end < name.size() && name[end] == '_') return name.substr(end + 1);
  }
  return name;
}

} // namespace

void Model::dumpSchedule(std::ostream &os) const {
  const Manifest &manifest = impl->manifest();
  os << "artifact " << impl->reader->path() << ": target " << manifest.target.kind;
  if (!manifest.target.cpuFeatures.empty())
    os << " [" << absl::StrJoin(manifest.target.cpuFeatures, ", ") << "]";
  os << "\n";
  for (const auto &[name, value] : impl->loadSymbols)
    os << "load symbol " << name << " = " << value << "\n";
  for (size_t i = 0; i < manifest.states.size(); ++i)
    os << "state " << manifest.states[i].name << ": " << dtypeName(manifest.states[i].dtype)
       << " " << shapeText(manifest.states[i].shape) << " (" << impl->stateBytes[i]
       << " bytes)\n";
  for (const ProgramInfo &program : manifest.programs)
    dumpProgram(os, manifest, program);
}

void Model::printProfile(std::ostream &os, size_t maxRows) const {
  std::lock_guard<std::mutex> lock(impl->mutex);
  struct Row {
    double seconds;
    int64_t calls;
    std::string program, what;
    size_t step;
    std::string part;
  };
  std::vector<Row> rows;
  double total = 0;
  for (const LoadedProgram &program : impl->programs)
    for (size_t s = 0; s < program.profile.size(); ++s) {
      const LoadedProgram::StepTime &time = program.profile[s];
      if (time.calls == 0)
        continue;
      const StepInfo &step = program.info->steps[s];
      rows.push_back({time.seconds, time.calls, program.info->name,
                      step.kind == StepKind::Copy ? "copy" : step.kernel, s, step.part});
      total += time.seconds;
    }
  std::stable_sort(rows.begin(), rows.end(),
                   [](const Row &a, const Row &b) { return a.seconds > b.seconds; });
  os << std::fixed << std::setprecision(1) << std::setw(12) << "total us" << std::setw(7)
     << "%" << std::setw(8) << "calls" << std::setw(12) << "avg us" << "  program:step  kernel\n";
  const std::vector<Row> allRows = rows;
  if (rows.size() > maxRows)
    rows.resize(maxRows);
  for (const Row &row : rows)
    os << std::setw(12) << row.seconds * 1e6 << std::setw(7)
       << (total > 0 ? 100 * row.seconds / total : 0) << std::setw(8) << row.calls
       << std::setw(12) << row.seconds * 1e6 / row.calls << "  " << row.program << ":"
       << row.step << "  " << row.what << "\n";
  os << std::setw(12) << total * 1e6 << "  total\n";
  // Totals per kind of kernel: the compiler names dispatch kernels <function>_d<N>_<kind>.
  std::map<std::string, double> kinds;
  for (const Row &row : allRows) kinds[kernelKind(row.what)] += row.seconds;
  std::vector<std::pair<std::string, double>> byKind(kinds.begin(), kinds.end());
  std::stable_sort(byKind.begin(), byKind.end(),
                   [](const auto &a, const auto &b) { return a.second > b.second; });
  os << "by kind:";
  for (const auto &[kind, seconds] : byKind)
    os << " " << kind << " " << seconds * 1e6 << " us (" << (total > 0 ? 100 * seconds / total : 0)
       << "%)";
  os << "\n";
  // Totals per model part, when the compiler recorded parts (GraphBuilder::setPart).
  std::map<std::string, double> parts;
  bool anyPart = false;
  for (const Row &row : allRows) {
    anyPart |= !row.part.empty();
    parts[row.part.empty() ? "other" : row.part] += row.seconds;
  }
  if (!anyPart) return;
  std::vector<std::pair<std::string, double>> byPart(parts.begin(), parts.end());
  std::stable_sort(byPart.begin(), byPart.end(),
                   [](const auto &a, const auto &b) { return a.second > b.second; });
  os << "by part:";
  for (const auto &[part, seconds] : byPart)
    os << " " << part << " " << seconds * 1e6 << " us (" << (total > 0 ? 100 * seconds / total : 0)
       << "%)";
  os << "\n";
}

void Model::resetProfile() {
  std::lock_guard<std::mutex> lock(impl->mutex);
  for (LoadedProgram &program : impl->programs)
    for (LoadedProgram::StepTime &time : program.profile)
      time = LoadedProgram::StepTime{};
}

} // namespace mvc
