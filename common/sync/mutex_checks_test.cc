#include "common/sync/mutex_checks.h"

#include <gtest/gtest.h>

#include "absl/synchronization/mutex.h"

namespace cloudlet {
namespace {

// Takes two mutexes in one order, then in the other: a potential deadlock
// that the detector reports, though one thread cannot actually deadlock.
void LockInBothOrders() {
  absl::Mutex first;
  absl::Mutex second;
  {
    absl::MutexLock a(&first);
    absl::MutexLock b(&second);
  }
  {
    absl::MutexLock b(&second);
    absl::MutexLock a(&first);
  }
}

// Pins the premise of DisableDebugOnlyMutexChecks: the Abseil we link was
// built with the deadlock detector on, in abort mode.
TEST(MutexChecksDeathTest, DebianAbseilAbortsOnAnInvertedLockOrder) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_DEATH(LockInBothOrders(), "Potential Mutex deadlock");
}

TEST(MutexChecksDeathTest, DisablingThemLetsAnInvertedLockOrderPass) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_EXIT(
      {
        DisableDebugOnlyMutexChecks();
        LockInBothOrders();
        std::exit(0);
      },
      testing::ExitedWithCode(0), "");
}

}  // namespace
}  // namespace cloudlet
