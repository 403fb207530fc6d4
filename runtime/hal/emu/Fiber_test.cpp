#include "runtime/hal/emu/Fiber.h"

#include <gtest/gtest.h>

#include <vector>

namespace mvc::emu {
namespace {

struct PingPong {
  FiberContext main, fiber;
  std::vector<int> trace;
};

void pingPong(void *arg) {
  auto *state = static_cast<PingPong *>(arg);
  for (int i = 0; i < 3; ++i) {
    state->trace.push_back(10 + i);
    switchFiber(state->fiber, state->main);
  }
  state->trace.push_back(99);
  switchFiber(state->fiber, state->main);
}

TEST(Fiber, SwitchesBackAndForthKeepingItsStack) {
  FiberStack stack(64 * 1024);
  ASSERT_TRUE(stack.valid());
  PingPong state;
  initFiber(state.fiber, stack, pingPong, &state);
  for (int i = 0; i < 4; ++i) {
    state.trace.push_back(i);
    switchFiber(state.main, state.fiber);
  }
  EXPECT_EQ(state.trace, (std::vector<int>{0, 10, 1, 11, 2, 12, 3, 99}));
}

struct Floats {
  FiberContext main, fiber;
  double result = 0;
};

void floats(void *arg) {
  auto *state = static_cast<Floats *>(arg);
  // Aligned SSE spills need the 16-byte stack alignment the ABI promises.
  alignas(16) volatile double values[4] = {1.5, 2.5, 3.5, 4.5};
  state->result = values[0] * values[1] + values[2] * values[3];
  switchFiber(state->fiber, state->main);
}

TEST(Fiber, RunsWithAnAlignedStack) {
  FiberStack stack(64 * 1024);
  Floats state;
  initFiber(state.fiber, stack, floats, &state);
  switchFiber(state.main, state.fiber);
  EXPECT_DOUBLE_EQ(state.result, 1.5 * 2.5 + 3.5 * 4.5);
  EXPECT_TRUE(stack.inGuard(static_cast<const char *>(stack.top()) - 64 * 1024 - 1));
  EXPECT_FALSE(stack.inGuard(static_cast<const char *>(stack.top()) - 1));
}

} // namespace
} // namespace mvc::emu
