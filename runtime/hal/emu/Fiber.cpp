//===- Fiber.cpp - x86-64 System V context switch -------------------------===//
#include "runtime/hal/emu/Fiber.h"

#include <sys/mman.h>
#include <unistd.h>

#include <cstring>

// ASan+UBSan builds (tools/scripts/sanitize.sh): fiber stacks are reused.
#if defined(__SANITIZE_ADDRESS__)
#define MVC_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define MVC_ASAN 1
#endif
#endif
#ifdef MVC_ASAN
#include <sanitizer/asan_interface.h>
#endif

#if !defined(__x86_64__)
#error "the cuda-emu fiber switch is written for x86-64 (the only host mvc compiles kernels for)"
#endif

// mvc_emu_switch_fiber(void **saveSp, void *newSp): pushes the callee-saved registers and
// MXCSR/x87 control word, stores the stack pointer, loads the other one, pops the same.
// mvc_emu_fiber_start: where a fresh fiber "returns" to; calls r13(r12) with an aligned
// stack.
asm(R"(
  .text
  .p2align 4
  .globl mvc_emu_switch_fiber
  .hidden mvc_emu_switch_fiber
  .type mvc_emu_switch_fiber,@function
mvc_emu_switch_fiber:
  pushq %rbp
  pushq %rbx
  pushq %r12
  pushq %r13
  pushq %r14
  pushq %r15
  subq $8, %rsp
  stmxcsr (%rsp)
  fnstcw 4(%rsp)
  movq %rsp, (%rdi)
  movq %rsi, %rsp
  ldmxcsr (%rsp)
  fldcw 4(%rsp)
  addq $8, %rsp
  popq %r15
  popq %r14
  popq %r13
  popq %r12
  popq %rbx
  popq %rbp
  ret
  .size mvc_emu_switch_fiber, .-mvc_emu_switch_fiber

  .p2align 4
  .globl mvc_emu_fiber_start
  .hidden mvc_emu_fiber_start
  .type mvc_emu_fiber_start,@function
mvc_emu_fiber_start:
  movq %r12, %rdi
  callq *%r13
  ud2
  .size mvc_emu_fiber_start, .-mvc_emu_fiber_start
)");

extern "C" void mvc_emu_switch_fiber(void **saveSp, void *newSp);
extern "C" void mvc_emu_fiber_start();

namespace mvc::emu {

FiberStack::FiberStack(size_t bytes) {
  size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
  size = (bytes + page - 1) / page * page;
  mapped = size + page;
  void *memory = mmap(nullptr, mapped, PROT_READ | PROT_WRITE,
                      MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (memory == MAP_FAILED) return;
  mapping = static_cast<uint8_t *>(memory);
  mprotect(mapping, page, PROT_NONE);
  base = mapping + page;
}

FiberStack::~FiberStack() {
  if (mapping) munmap(mapping, mapped);
}

bool FiberStack::inGuard(const void *address) const {
  auto *p = static_cast<const uint8_t *>(address);
  return mapping && p >= mapping && p < base;
}

void initFiber(FiberContext &context, const FiberStack &stack, void (*entry)(void *), void *arg) {
#ifdef MVC_ASAN
  // A fiber abandoned mid-kernel (an error, a deadlock) leaves its frames' redzones
  // poisoned; a new fiber on the same stack starts from clean memory.
  ASAN_UNPOISON_MEMORY_REGION(stack.bottom(), stack.bytes());
#endif
  // The frame mvc_emu_switch_fiber pops: control words, r15..r12, rbx, rbp, return address.
  auto top = reinterpret_cast<uintptr_t>(stack.top()) & ~uintptr_t{15};
  auto *slot = reinterpret_cast<uint64_t *>(top - 8); // return address; rsp % 16 == 0 after ret
  *slot = reinterpret_cast<uint64_t>(&mvc_emu_fiber_start);
  uint64_t *frame = slot - 7;
  uint32_t mxcsr = 0;
  uint16_t fpcw = 0;
  asm volatile("stmxcsr %0" : "=m"(mxcsr));
  asm volatile("fnstcw %0" : "=m"(fpcw));
  std::memset(frame, 0, 7 * sizeof(uint64_t));
  std::memcpy(frame, &mxcsr, 4);
  std::memcpy(reinterpret_cast<uint8_t *>(frame) + 4, &fpcw, 2);
  frame[3] = reinterpret_cast<uint64_t>(entry); // r13
  frame[4] = reinterpret_cast<uint64_t>(arg);   // r12
  context.sp = frame;
}

void switchFiber(FiberContext &from, const FiberContext &to) {
  mvc_emu_switch_fiber(&from.sp, to.sp);
}

} // namespace mvc::emu
