#include "vmm/run/cancellation.h"

#include <thread>

#include "gtest/gtest.h"

namespace cloudlet::vmm {
namespace {

TEST(Cancellation, FirstCauseWins) {
  Cancellation cancel;
  EXPECT_FALSE(cancel.cancelled());
  EXPECT_TRUE(cancel.Cancel(v1::TIMEOUT, "timed out after 2s"));
  EXPECT_FALSE(cancel.Cancel(v1::CANCELLED, "caller went away"));
  ASSERT_TRUE(cancel.cause().has_value());
  EXPECT_EQ(cancel.cause()->reason, v1::TIMEOUT);
  EXPECT_EQ(cancel.cause()->message, "timed out after 2s");
}

TEST(Cancellation, HookRunsOnCancelWhileItsGuardLives) {
  Cancellation cancel;
  int calls = 0;
  {
    Cancellation::HookGuard guard = cancel.OnCancel([&] { ++calls; });
    std::thread canceller([&] { cancel.Cancel(v1::CANCELLED, "stop"); });
    canceller.join();
  }
  EXPECT_EQ(calls, 1);
}

TEST(Cancellation, HookRunsAtOnceWhenAlreadyCancelled) {
  Cancellation cancel;
  cancel.Cancel(v1::SHUTTING_DOWN, "bye");
  int calls = 0;
  Cancellation::HookGuard guard = cancel.OnCancel([&] { ++calls; });
  EXPECT_EQ(calls, 1);
}

TEST(Cancellation, HookIsNotCalledAfterItsGuardIsGone) {
  Cancellation cancel;
  int calls = 0;
  { Cancellation::HookGuard guard = cancel.OnCancel([&] { ++calls; }); }
  cancel.Cancel(v1::CANCELLED, "stop");
  EXPECT_EQ(calls, 0);
}

}  // namespace
}  // namespace cloudlet::vmm
