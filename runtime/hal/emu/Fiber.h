//===- Fiber.h - stackful coroutines for emulated GPU threads -----*- C++ -*-===//
//
// Every thread of an emulated block runs on its own fiber so that a barrier or a
// warp-collective operation can suspend it mid-kernel and resume it once the other
// threads arrive. A switch saves only the callee-saved registers and the FP control
// words (the System V ABI makes everything else the caller's), ~10 ns, versus a
// syscall per switch for swapcontext's signal mask: a matmul block switches millions
// of times.
//
//===----------------------------------------------------------------------===//
#ifndef MVC_RUNTIME_HAL_EMU_FIBER_H
#define MVC_RUNTIME_HAL_EMU_FIBER_H

#include <cstddef>
#include <cstdint>

namespace mvc::emu {

/// A fiber's saved stack pointer; the registers are on its stack.
struct FiberContext {
  void *sp = nullptr;
};

/// An mmap'd stack with a PROT_NONE guard page below it, so an overflow faults (and the
/// emulator's fault handler names it) instead of corrupting a neighbour.
class FiberStack {
public:
  explicit FiberStack(size_t bytes);
  ~FiberStack();
  FiberStack(const FiberStack &) = delete;
  FiberStack &operator=(const FiberStack &) = delete;
  void *top() const { return base + size; }
  void *bottom() const { return base; }
  size_t bytes() const { return size; }
  /// The guard page: a fault address in [guardBegin, base) is a stack overflow.
  bool inGuard(const void *address) const;
  bool valid() const { return base != nullptr; }

private:
  uint8_t *mapping = nullptr;
  uint8_t *base = nullptr;
  size_t size = 0, mapped = 0;
};

/// Prepares `context` so that the first switch to it calls entry(arg) on `stack`.
/// entry must never return: it switches away for the last time instead.
void initFiber(FiberContext &context, const FiberStack &stack, void (*entry)(void *), void *arg);

/// Saves the running context into `from` and resumes `to`.
void switchFiber(FiberContext &from, const FiberContext &to);

} // namespace mvc::emu

#endif // MVC_RUNTIME_HAL_EMU_FIBER_H
