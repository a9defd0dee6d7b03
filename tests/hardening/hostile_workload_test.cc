// Hostile workloads in a real VM: a fork bomb, a memory hog, a disk filler
// and an endless printer. Each must end with a reason a user understands,
// a normal run started while it rages must succeed, and no QEMU, VM state
// or temp dir may be left afterwards.
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "common/ids.h"
#include "common/sync/poll.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/hardening/hardening_support.h"
#include "tests/support/no_vm_left.h"

namespace cloudlet::testing {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

// Generous: under TCG on a loaded 2-core machine a boot alone can take 5 s.
constexpr absl::Duration kClientTimeout = absl::Seconds(180);

class HostileWorkloadTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // Two slots: the normal run must not have to wait for the hostile one.
    absl::StatusOr<std::unique_ptr<HardenedChain>> chain =
        HardenedChain::Start({.vmm_flags = {"--max_vms=2"}, .api_flags = {}});
    ASSERT_TRUE(chain.ok()) << chain.status();
    chain_ = *std::move(chain);
  }

  // Runs `hostile`; once it reaches its RUNNING stage, runs a normal shell
  // workload beside it and expects that one to succeed with its output
  // intact. Returns the hostile run's outcome.
  StreamedRun RunBesideANormalRun(const v1::RunRequest& hostile) {
    absl::Notification running;
    absl::StatusOr<StreamedRun> hostile_run;
    absl::Time hostile_ended;
    std::thread thread([&] {
      hostile_run = RunThroughApi(
          chain_->api_url(), hostile, kClientTimeout,
          [&](const v1::RunEvent& event) {
            if (event.has_stage() && event.stage().stage() == v1::RUNNING &&
                !running.HasBeenNotified()) {
              running.Notify();
            }
          });
      hostile_ended = absl::Now();
      if (!running.HasBeenNotified()) running.Notify();
    });
    running.WaitForNotification();

    std::string token = absl::StrCat("normal-run-", NewRunId());
    absl::StatusOr<StreamedRun> normal = RunThroughApi(
        chain_->api_url(),
        MakeRun(v1::SHELL, absl::StrCat("echo ", token, "\n")),
        kClientTimeout);
    absl::Time normal_ended = absl::Now();
    thread.join();

    EXPECT_TRUE(normal.ok()) << normal.status();
    if (normal.ok()) {
      EXPECT_TRUE(normal->result.has_value()) << normal->Summary();
    }
    if (normal.ok() && normal->result.has_value()) {
      EXPECT_EQ(normal->result->status(), v1::DONE) << normal->Summary();
      EXPECT_EQ(normal->result->exit_code(), 0) << normal->Summary();
      EXPECT_EQ(normal->out, token + "\n") << normal->Summary();
      std::cout << absl::StrFormat(
          "normal run beside it: %s in %.1fs, %s the hostile run ended\n",
          v1::Stage_Name(normal->result->status()),
          absl::ToDoubleSeconds(normal->wall),
          normal_ended <= hostile_ended ? "before" : "after");
    }
    EXPECT_TRUE(hostile_run.ok()) << hostile_run.status();
    if (!hostile_run.ok()) return StreamedRun{};
    const StreamedRun& run = *hostile_run;
    if (run.result) {
      std::cout << absl::StrFormat(
          "hostile run: %s %s signal=%d exit_code=%d in %.1fs: \"%s\"\n",
          v1::Stage_Name(run.result->status()),
          v1::Reason_Name(run.result->reason()), run.result->signal(),
          run.result->exit_code(), absl::ToDoubleSeconds(run.wall),
          run.result->message());
    }
    return run;
  }

  // No QEMU, no VM state dir, no temp file of the VMM or API is left.
  void ExpectNothingLeft() {
    EXPECT_THAT(WaitUntilNoVmLeft(absl::Seconds(5)), IsEmpty());
    std::vector<std::string> left;
    (void)PollUntil(
        "the VM's files to go", absl::Now() + absl::Seconds(5),
        [&]() -> absl::StatusOr<bool> {
          left = chain_->Leftovers();
          return left.empty();
        });
    EXPECT_THAT(left, IsEmpty());
  }

  std::unique_ptr<HardenedChain> chain_;
};

TEST_F(HostileWorkloadTest, EndlessPrinterIsCutAtTheOutputLimit) {
  // The server's default limit (16 MiB).
  StreamedRun run = RunBesideANormalRun(
      MakeRun(v1::SHELL, "yes 'all work and no play makes jack a dull boy'\n"));
  ASSERT_TRUE(run.result.has_value()) << run.Summary();
  EXPECT_EQ(run.result->status(), v1::FAILED) << run.Summary();
  EXPECT_EQ(run.result->reason(), v1::OUTPUT_LIMIT) << run.Summary();
  EXPECT_EQ(run.result->ended_in(), v1::RUNNING) << run.Summary();
  EXPECT_THAT(run.result->message(),
              AllOf(HasSubstr("output passed the limit of 16777216 bytes"),
                    HasSubstr("stopped")));
  EXPECT_EQ(run.out.size(), 16u << 20) << "not exactly the limit";
  EXPECT_THAT(run.err, HasSubstr("output limit of 16777216 bytes reached"));
  ExpectNothingLeft();
}

TEST_F(HostileWorkloadTest, MemoryHogIsKilledOrTimedOutWithAClearReason) {
  // Touches 8 MiB after 8 MiB until the 256 MiB guest has no more. Mostly
  // the guest's OOM killer takes it within seconds and the result names it.
  // Sometimes (seen 1 run in 3 under TCG) the kernel first thrashes: it
  // keeps evicting and re-reading the image's executable pages instead of
  // declaring OOM (no swap, no memcg, no MGLRU min_ttl in this kernel), and
  // then the run's timeout is what ends it, also with a clear reason. The
  // 30 s timeout bounds that case.
  StreamedRun run = RunBesideANormalRun(MakeRun(v1::PYTHON, R"py(
chunks = []
while True:
    chunks.append(b"x" * (8 << 20))
    print(len(chunks) * 8, "MiB", flush=True)
)py",
                                                absl::Seconds(30)));
  ASSERT_TRUE(run.result.has_value()) << run.Summary();
  EXPECT_EQ(run.result->ended_in(), v1::RUNNING) << run.Summary();
  EXPECT_EQ(run.result->signal(), 9) << run.Summary();
  if (run.result->reason() == v1::TIMEOUT) {
    EXPECT_EQ(run.result->message(),
              "timed out after 30s; the workload's processes were killed")
        << run.Summary();
  } else {
    EXPECT_EQ(run.result->reason(), v1::EXITED) << run.Summary();
    EXPECT_THAT(run.result->message(), HasSubstr("out of memory"))
        << run.Summary();
  }
  EXPECT_THAT(run.out, HasSubstr("\n64 MiB\n")) << "it did not get far";
  ExpectNothingLeft();
}

TEST_F(HostileWorkloadTest, DiskFillerSeesNoSpaceLeftAndTheVmSurvives) {
  // Fills each writable place of the guest in turn: the run's work dir, the
  // root overlay, /dev/shm. Every write ends in ENOSPC (they share one
  // tmpfs of half the guest's memory), and the program goes on to report
  // it: the agent and the VM stay alive.
  StreamedRun run = RunBesideANormalRun(MakeRun(v1::SHELL, R"sh(
for target in ./fill /var/tmp/fill /dev/shm/fill; do
  error=$(dd if=/dev/zero of="$target" bs=1M 2>&1 >/dev/null) &&
    echo "$target: no limit"
  echo "$target: $(echo "$error" | head -n 1) after $(du -m "$target" | cut -f1) MiB"
done
echo done filling
exit 28
)sh"));
  ASSERT_TRUE(run.result.has_value()) << run.Summary();
  std::cout << run.out;
  EXPECT_EQ(run.result->status(), v1::DONE) << run.Summary();
  EXPECT_EQ(run.result->reason(), v1::EXITED) << run.Summary();
  EXPECT_EQ(run.result->exit_code(), 28) << run.Summary();
  for (const char* target : {"./fill", "/var/tmp/fill", "/dev/shm/fill"}) {
    EXPECT_THAT(run.out, HasSubstr(absl::StrCat(
                             target, ": dd: error writing '", target,
                             "': No space left on device")))
        << run.Summary();
  }
  EXPECT_THAT(run.out, HasSubstr("done filling")) << run.Summary();
  ExpectNothingLeft();
}

TEST_F(HostileWorkloadTest, ForkBombEndsAtItsTimeoutKilledByTheAgent) {
  // bash, unlike dash, survives failed forks and keeps on trying.
  StreamedRun run = RunBesideANormalRun(MakeRun(
      v1::SHELL,
      "echo bomb; exec bash -c 'bomb() { bomb | bomb & }; "
      "while :; do bomb; done'\n",
      absl::Seconds(15)));
  ASSERT_TRUE(run.result.has_value()) << run.Summary();
  EXPECT_EQ(run.result->status(), v1::FAILED) << run.Summary();
  EXPECT_EQ(run.result->reason(), v1::TIMEOUT) << run.Summary();
  // The agent's own message: it kept control of the guest and killed the
  // bomb itself (the VMM's backstop would say "the VM was killed").
  EXPECT_EQ(run.result->message(),
            "timed out after 15s; the workload's processes were killed")
      << run.Summary();
  // It hit the run's process limit.
  EXPECT_THAT(run.err, HasSubstr("fork: retry: Resource temporarily "
                                 "unavailable"));
  ExpectNothingLeft();
}

}  // namespace
}  // namespace cloudlet::testing
