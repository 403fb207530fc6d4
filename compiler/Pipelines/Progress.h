//===- Progress.h - what mvc-compile shows while it works ---------*- C++ -*-===//
//
// On a terminal, one updating stderr line: the phase, kernels k/N or weights MB written,
// and the elapsed time. When stderr is not a terminal, one plain line per phase; with
// --quiet, nothing. It also records where the time went, for --timings: seconds per phase
// and per compiled kernel. Thread-safe: kernels are compiled in parallel.
//
//===----------------------------------------------------------------------===//
#ifndef MVC_COMPILER_PIPELINES_PROGRESS_H
#define MVC_COMPILER_PIPELINES_PROGRESS_H

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace mvc {

class CompileProgress {
public:
  enum class Mode { Quiet, Lines, Terminal };
  /// Terminal when stderr is one, Lines otherwise; Quiet when asked.
  static Mode detect(bool quiet);

  explicit CompileProgress(Mode mode);
  ~CompileProgress();

  /// Ends the current phase (if any) and starts `name`.
  void phase(const std::string &name);
  /// Counts of a phase that compiles `total` kernels.
  void kernelsTotal(int total);
  /// One kernel (or one target variant) compiled in `seconds`.
  void kernelDone(const std::string &name, double seconds);
  /// Weight bytes written of `total`.
  void weights(uint64_t done, uint64_t total);
  /// Ends the last phase and clears the terminal line.
  void finish();

  /// Seconds per phase, in order, and the five slowest kernels.
  std::string report() const;

private:
  using Clock = std::chrono::steady_clock;
  void endPhase();
  void draw(bool force);
  double since(Clock::time_point t) const;

  Mode mode;
  mutable std::mutex mutex;
  Clock::time_point start, phaseStart, lastDraw;
  std::string current;
  int kernelsDoneCount = 0, kernelsTotalCount = 0;
  uint64_t weightsDone = 0, weightsTotal = 0;
  bool lineShown = false;
  // On a terminal the elapsed time moves even when nothing else does: a ticker redraws.
  std::thread ticker;
  std::condition_variable stopTicking;
  bool stopping = false;
  std::vector<std::pair<std::string, double>> phases;
  std::vector<std::pair<std::string, double>> kernels;
};

} // namespace mvc

#endif
