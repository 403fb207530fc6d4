//===- Progress.cpp - what mvc-compile shows while it works --------------===//
#include "compiler/Pipelines/Progress.h"

#include <algorithm>
#include <cstdio>
#include <unistd.h>

namespace mvc {

CompileProgress::Mode CompileProgress::detect(bool quiet) {
  if (quiet) return Mode::Quiet;
  return ::isatty(STDERR_FILENO) ? Mode::Terminal : Mode::Lines;
}

CompileProgress::CompileProgress(Mode mode) : mode(mode), start(Clock::now()) {
  phaseStart = lastDraw = start;
  if (mode == Mode::Terminal)
    ticker = std::thread([this] {
      std::unique_lock<std::mutex> lock(mutex);
      while (!stopTicking.wait_for(lock, std::chrono::milliseconds(250), [this] { return stopping; }))
        if (!current.empty()) draw(true);
    });
}

CompileProgress::~CompileProgress() {
  {
    std::lock_guard<std::mutex> lock(mutex);
    stopping = true;
    // An error path leaves the line: clear it so the error reads cleanly.
    if (mode == Mode::Terminal && lineShown) std::fputs("\r\033[K", stderr);
    lineShown = false;
  }
  stopTicking.notify_all();
  if (ticker.joinable()) ticker.join();
}

double CompileProgress::since(Clock::time_point t) const {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

void CompileProgress::endPhase() {
  if (current.empty()) return;
  phases.push_back({current, since(phaseStart)});
  current.clear();
}

void CompileProgress::phase(const std::string &name) {
  std::lock_guard<std::mutex> lock(mutex);
  endPhase();
  current = name;
  phaseStart = Clock::now();
  kernelsDoneCount = kernelsTotalCount = 0;
  weightsDone = weightsTotal = 0;
  if (mode == Mode::Lines)
    std::fprintf(stderr, "mvc-compile: [%6.1fs] %s\n", since(start), name.c_str());
  draw(true);
}

void CompileProgress::kernelsTotal(int total) {
  std::lock_guard<std::mutex> lock(mutex);
  kernelsTotalCount = total;
  draw(true);
}

void CompileProgress::kernelDone(const std::string &name, double seconds) {
  std::lock_guard<std::mutex> lock(mutex);
  ++kernelsDoneCount;
  kernels.push_back({name, seconds});
  draw(kernelsDoneCount == kernelsTotalCount);
}

void CompileProgress::weights(uint64_t done, uint64_t total) {
  std::lock_guard<std::mutex> lock(mutex);
  weightsDone = done;
  weightsTotal = total;
  draw(done == total);
}

void CompileProgress::draw(bool force) {
  if (mode != Mode::Terminal) return;
  // At most ten redraws a second.
  if (!force && since(lastDraw) < 0.1) return;
  lastDraw = Clock::now();
  std::string detail;
  char buf[96];
  if (kernelsTotalCount > 0) {
    std::snprintf(buf, sizeof buf, ": kernels %d/%d", kernelsDoneCount, kernelsTotalCount);
    detail = buf;
  } else if (weightsTotal > 0) {
    std::snprintf(buf, sizeof buf, ": weights %.0f/%.0f MB", weightsDone / 1e6, weightsTotal / 1e6);
    detail = buf;
  }
  std::fprintf(stderr, "\r\033[Kmvc-compile: [%6.1fs] %s%s", since(start), current.c_str(),
               detail.c_str());
  std::fflush(stderr);
  lineShown = true;
}

void CompileProgress::finish() {
  std::lock_guard<std::mutex> lock(mutex);
  endPhase();
  if (mode == Mode::Terminal && lineShown) std::fputs("\r\033[K", stderr);
  lineShown = false;
  if (mode != Mode::Quiet)
    std::fprintf(stderr, "mvc-compile: done in %.1fs\n", since(start));
}

std::string CompileProgress::report() const {
  std::lock_guard<std::mutex> lock(mutex);
  std::string out = "timings:\n";
  char buf[256];
  double total = 0;
  for (auto &[name, seconds] : phases) total += seconds;
  for (auto &[name, seconds] : phases) {
    std::snprintf(buf, sizeof buf, "  %-40s %8.2f s  %5.1f%%\n", name.c_str(), seconds,
                  total > 0 ? 100 * seconds / total : 0.0);
    out += buf;
  }
  std::snprintf(buf, sizeof buf, "  %-40s %8.2f s\n", "total", total);
  out += buf;
  if (!kernels.empty()) {
    auto sorted = kernels;
    std::stable_sort(sorted.begin(), sorted.end(),
                     [](auto &a, auto &b) { return a.second > b.second; });
    double sum = 0;
    for (auto &k : sorted) sum += k.second;
    std::snprintf(buf, sizeof buf, "slowest of %zu kernel compiles (%.2f s of work):\n",
                  sorted.size(), sum);
    out += buf;
    for (size_t i = 0; i < sorted.size() && i < 5; ++i) {
      std::snprintf(buf, sizeof buf, "  %-40s %8.2f s\n", sorted[i].first.c_str(), sorted[i].second);
      out += buf;
    }
  }
  return out;
}

} // namespace mvc
