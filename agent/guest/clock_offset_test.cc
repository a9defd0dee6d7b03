#include "agent/guest/clock_offset.h"

#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>

#include "gtest/gtest.h"

namespace cloudlet::agent {
namespace {

absl::Duration Now(clockid_t clock) {
  timespec now{};
  ::clock_gettime(clock, &now);
  return absl::DurationFromTimespec(now);
}

// In a death-test child: unless `ok`, prints `what` and exits with 1.
void FailUnless(bool ok, const char* what) {
  if (ok) return;
  std::fprintf(stderr, "%s\n", what);
  std::_Exit(1);
}

TEST(EnsureMonotonicClockAtLeast, LeavesAClockAlreadyPastTheTargetAlone) {
  std::filesystem::path before =
      std::filesystem::read_symlink("/proc/self/ns/time");
  absl::StatusOr<absl::Duration> offset =
      EnsureMonotonicClockAtLeast(Now(CLOCK_MONOTONIC) - absl::Seconds(1));
  ASSERT_TRUE(offset.ok()) << offset.status();
  EXPECT_EQ(*offset, absl::ZeroDuration());
  EXPECT_EQ(std::filesystem::read_symlink("/proc/self/ns/time"), before);
}

// Runs in a forked child (a death test): joining a time namespace changes
// the whole process and needs it single-threaded.
TEST(EnsureMonotonicClockAtLeastDeathTest,
     MovesThisProcessAndItsChildrenPastTheTargetButNotTheWallClock) {
  EXPECT_EXIT(
      {
        absl::Duration target = Now(CLOCK_MONOTONIC) + absl::Hours(1);
        absl::Duration wall_before = Now(CLOCK_REALTIME);
        absl::StatusOr<absl::Duration> offset =
            EnsureMonotonicClockAtLeast(target);
        FailUnless(offset.ok(), offset.status().ToString().c_str());
        FailUnless(*offset >= absl::Hours(1) &&
                       *offset <= absl::Hours(1) + absl::Seconds(2),
                   "the offset is not the missing time rounded up");
        FailUnless(Now(CLOCK_MONOTONIC) >= target, "monotonic clock not moved");
        FailUnless(Now(CLOCK_BOOTTIME) >= target, "boot-time clock not moved");
        FailUnless(Now(CLOCK_REALTIME) - wall_before < absl::Minutes(1),
                   "the wall clock moved");
        pid_t child = ::fork();
        if (child == 0) std::_Exit(Now(CLOCK_MONOTONIC) >= target ? 0 : 1);
        int status = 0;
        ::waitpid(child, &status, 0);
        FailUnless(WIFEXITED(status) && WEXITSTATUS(status) == 0,
                   "a child does not see the moved clock");
        std::_Exit(0);
      },
      ::testing::ExitedWithCode(0), "");
}

}  // namespace
}  // namespace cloudlet::agent
