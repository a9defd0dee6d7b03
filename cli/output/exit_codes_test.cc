#include "cli/output/exit_codes.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace cloudlet::cli {
namespace {

using ::testing::HasSubstr;

v1::Result Exited(int code) {
  v1::Result result;
  result.set_status(v1::DONE);
  result.set_reason(v1::EXITED);
  result.set_exit_code(code);
  return result;
}

TEST(ExitCodeForResult, IsTheWorkloadsOwnExitCode) {
  EXPECT_EQ(ExitCodeForResult(Exited(0)), 0);
  EXPECT_EQ(ExitCodeForResult(Exited(3)), 3);
  EXPECT_EQ(ExitCodeForResult(Exited(255)), 255);
  EXPECT_EQ(DescribeResult(Exited(3)), "");
}

TEST(ExitCodeForResult, IsOneHundredTwentyEightPlusTheKillingSignal) {
  v1::Result result;
  result.set_status(v1::DONE);
  result.set_reason(v1::EXITED);
  result.set_signal(9);
  EXPECT_EQ(ExitCodeForResult(result), 137);
  EXPECT_THAT(DescribeResult(result), HasSubstr("killed by signal 9"));
}

TEST(ExitCodeForResult, ASignalKillIsDescribedByTheAgentsMessageWhenItHasOne) {
  v1::Result result;
  result.set_status(v1::DONE);
  result.set_reason(v1::EXITED);
  result.set_signal(9);
  result.set_message(
      "the program was killed by signal 9 (Killed); the guest ran out of "
      "memory and the kernel's OOM killer killed python3 (pid 75)");
  EXPECT_EQ(ExitCodeForResult(result), 137);
  EXPECT_THAT(DescribeResult(result), HasSubstr("OOM killer killed python3"));
}

TEST(ExitCodeForResult, BuildFailureKeepsTheCompilersCode) {
  v1::Result result;
  result.set_status(v1::FAILED);
  result.set_ended_in(v1::BUILDING);
  result.set_reason(v1::BUILD_FAILED);
  result.set_exit_code(101);
  EXPECT_EQ(ExitCodeForResult(result), 101);
  EXPECT_EQ(DescribeResult(result), "build failed (exit code 101)");
  result.clear_exit_code();
  EXPECT_EQ(ExitCodeForResult(result), 1);
}

TEST(ExitCodeForResult, TimeoutAndCancelHaveTheirConventionalCodes) {
  v1::Result result;
  result.set_status(v1::FAILED);
  result.set_reason(v1::TIMEOUT);
  result.set_message("timed out after 2s");
  EXPECT_EQ(ExitCodeForResult(result), kExitTimeout);
  EXPECT_EQ(DescribeResult(result), "timed out: timed out after 2s");
  result.set_reason(v1::CANCELLED);
  EXPECT_EQ(ExitCodeForResult(result), kExitInterrupted);
}

TEST(ExitCodeForResult, PlatformFailuresAreOneWithTheReason) {
  for (v1::Reason reason : {v1::VM_DIED, v1::PREPARE_FAILED, v1::BOOT_FAILED,
                            v1::SHUTTING_DOWN, v1::INTERNAL_ERROR,
                            v1::OUTPUT_LIMIT}) {
    v1::Result result;
    result.set_status(v1::FAILED);
    result.set_reason(reason);
    result.set_message("details");
    EXPECT_EQ(ExitCodeForResult(result), kExitPlatformFailure) << reason;
    EXPECT_THAT(DescribeResult(result), HasSubstr(": details"));
  }
  v1::Result result;
  result.set_reason(v1::BOOT_FAILED);
  EXPECT_EQ(DescribeResult(result), "boot failed");
}

TEST(ExitCodeForError, UsageIsTwoInterruptIsOneThirtyElseOne) {
  EXPECT_EQ(ExitCodeForError(absl::InvalidArgumentError("x")), kExitUsage);
  EXPECT_EQ(ExitCodeForError(absl::CancelledError("x")), kExitInterrupted);
  EXPECT_EQ(ExitCodeForError(absl::UnavailableError("x")), 1);
  EXPECT_EQ(ExitCodeForError(absl::ResourceExhaustedError("x")), 1);
}

}  // namespace
}  // namespace cloudlet::cli
