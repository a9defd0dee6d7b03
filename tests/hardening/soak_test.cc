// Soak: 200 short runs in three parallel streams, then 16 at once, through
// the real API and VMM. Every output must be complete and correct, and the
// VMM must end where it started: same open fds, resident memory within a
// small tolerance, no QEMU left.
#include <algorithm>
#include <atomic>
#include <filesystem>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "common/ids.h"
#include "common/sync/poll.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/hardening/hardening_support.h"
#include "tests/support/no_vm_left.h"

namespace cloudlet::testing {
namespace {

using ::testing::IsEmpty;

constexpr int kLoopRuns = 200;
// Three VMs at once keep both cores of a 2-core CI machine busy through the
// boots' waits: measured 1.8 s per run against 2.4 s with two streams.
constexpr int kStreams = 3;
constexpr int kBurst = 16;
// RSS growth allowed after the warm-up: allocator arenas of the threads that
// served the runs keep some freed memory; a leak of even 50 KiB per run
// would show as 10 MiB over 200 runs.
constexpr int64_t kRssToleranceKib = 8 * 1024;

// "3 -> anon_inode:[eventpoll], 7 -> socket:[123], ..." for a failure message.
std::string FdTargets(pid_t pid) {
  std::string targets;
  std::error_code error;
  std::filesystem::path dir =
      std::filesystem::path("/proc") / std::to_string(pid) / "fd";
  for (const auto& entry : std::filesystem::directory_iterator(dir, error)) {
    absl::StrAppend(&targets, entry.path().filename().string(), " -> ",
                    std::filesystem::read_symlink(entry.path(), error).string(),
                    ", ");
  }
  return targets;
}

class SoakTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<std::unique_ptr<HardenedChain>> chain =
        HardenedChain::Start({.vmm_flags = {"--max_vms=3", "--max_queue=16"},
                              .api_flags = {}});
    ASSERT_TRUE(chain.ok()) << chain.status();
    chain_ = *std::move(chain);
  }

  // One short run whose output must be exactly its token; false (and a
  // recorded failure) otherwise.
  bool ShortRun(const std::string& token) {
    // Several lines and a stderr line, so that a lost chunk shows.
    std::string script = absl::StrCat("for i in 1 2 3; do echo ", token,
                                      "-$i; done; echo ", token,
                                      "-err >&2\n");
    absl::StatusOr<StreamedRun> run = RunThroughApi(
        chain_->api_url(), MakeRun(v1::SHELL, script), absl::Seconds(300));
    std::string expected =
        absl::StrCat(token, "-1\n", token, "-2\n", token, "-3\n");
    bool good = run.ok() && run->result.has_value() &&
                run->result->status() == v1::DONE &&
                run->result->exit_code() == 0 && run->out == expected &&
                run->err == token + "-err\n";
    if (!good) {
      absl::MutexLock lock(&mu_);
      failures_.push_back(run.ok() ? run->Summary()
                                   : std::string(run.status().message()));
    }
    if (run.ok() && run->result.has_value()) {
      absl::MutexLock lock(&mu_);
      walls_.push_back(run->wall);
    }
    return good;
  }

  Footprint IdleFootprint() {
    EXPECT_THAT(WaitUntilNoVmLeft(absl::Seconds(10)), IsEmpty());
    absl::StatusOr<Footprint> footprint = FootprintOf(chain_->vmm_pid());
    EXPECT_TRUE(footprint.ok()) << footprint.status();
    return footprint.ok() ? *footprint : Footprint{};
  }

  std::unique_ptr<HardenedChain> chain_;
  absl::Mutex mu_;
  std::vector<std::string> failures_ ABSL_GUARDED_BY(mu_);
  std::vector<absl::Duration> walls_ ABSL_GUARDED_BY(mu_);
};

TEST_F(SoakTest, TwoHundredRunsThenSixteenAtOnceLeaveTheVmmAsItWas) {
  // Warm-up: the first run sets up what the VMM keeps for good (gRPC
  // threads and pools, the artifact cache's state).
  absl::Time warm_start = absl::Now();
  ASSERT_TRUE(ShortRun("warm-up")) << failures_.front();
  absl::Duration warm_up = absl::Now() - warm_start;
  Footprint before = IdleFootprint();

  absl::Time loop_start = absl::Now();
  std::atomic<int> next{0};
  std::atomic<int> good{0};
  std::vector<std::thread> streams;
  for (int s = 0; s < kStreams; ++s) {
    streams.emplace_back([&] {
      for (int i = next++; i < kLoopRuns; i = next++) {
        if (ShortRun(absl::StrCat("loop", i, "-", NewRunId()))) ++good;
      }
    });
  }
  for (std::thread& stream : streams) stream.join();
  absl::Duration loop_wall = absl::Now() - loop_start;
  EXPECT_EQ(good.load(), kLoopRuns);
  Footprint after_loop = IdleFootprint();

  absl::Time burst_start = absl::Now();
  std::atomic<int> burst_good{0};
  std::vector<std::thread> burst;
  for (int i = 0; i < kBurst; ++i) {
    burst.emplace_back([&, i] {
      if (ShortRun(absl::StrCat("burst", i, "-", NewRunId()))) ++burst_good;
    });
  }
  for (std::thread& run : burst) run.join();
  absl::Duration burst_wall = absl::Now() - burst_start;
  EXPECT_EQ(burst_good.load(), kBurst);

  // gRPC closes idle streams' fds asynchronously: poll, don't sleep.
  Footprint after;
  (void)PollUntil("the VMM's fds to settle", absl::Now() + absl::Seconds(10),
                  [&]() -> absl::StatusOr<bool> {
                    after = IdleFootprint();
                    return after.fds <= before.fds;
                  });
  EXPECT_EQ(after.fds, before.fds) << "the VMM's fds now: "
                                   << FdTargets(chain_->vmm_pid());
  EXPECT_LE(after.rss_kib, before.rss_kib + kRssToleranceKib);
  EXPECT_THAT(WaitUntilNoVmLeft(absl::Seconds(5)), IsEmpty());
  EXPECT_THAT(chain_->Leftovers(), IsEmpty());

  absl::MutexLock lock(&mu_);
  for (const std::string& failure : failures_) ADD_FAILURE() << failure;
  std::sort(walls_.begin(), walls_.end());
  absl::Duration median = walls_.empty() ? absl::ZeroDuration()
                                         : walls_[walls_.size() / 2];
  std::cout << absl::StrFormat(
      "soak: warm-up run %.1fs; %d runs in %d streams %.0fs (median run "
      "%.2fs); %d at once %.0fs\n"
      "soak: VMM fds %d -> %d (after loop) -> %d; RSS %d KiB -> %d KiB -> "
      "%d KiB; threads %d -> %d\n",
      absl::ToDoubleSeconds(warm_up), kLoopRuns, kStreams,
      absl::ToDoubleSeconds(loop_wall), absl::ToDoubleSeconds(median),
      kBurst, absl::ToDoubleSeconds(burst_wall), before.fds, after_loop.fds,
      after.fds, before.rss_kib, after_loop.rss_kib, after.rss_kib,
      before.threads, after.threads);
}

}  // namespace
}  // namespace cloudlet::testing
