#include "agent/execution/stage_runner.h"

#include <signal.h>
#include <unistd.h>

#include <string>
#include <thread>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "agent/testing/process_table.h"
#include "agent/testing/recording_sink.h"
#include "common/sync/poll.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace cloudlet::agent {
namespace {

using ::testing::HasSubstr;

StageSpec Shell(std::string script) {
  StageSpec spec;
  spec.stage = v1::RUNNING;
  spec.spawn.argv = {"/bin/sh", "-c", std::move(script)};
  return spec;
}

class StageRunnerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<std::shared_ptr<RunControl>> control =
        RunControl::Create("test");
    ASSERT_TRUE(control.ok());
    control_ = *control;
  }

  absl::StatusOr<StageOutcome> Run(const StageSpec& spec,
                                   absl::Duration timeout = absl::Seconds(20),
                                   uint64_t budget = 1 << 20) {
    OutputBudget output_budget(budget);
    return RunStage(spec, absl::Now() + timeout, *control_, output_budget,
                    sink_);
  }

  // The pid the script printed first on stdout ("echo $$").
  static pid_t FirstPid(const std::string& out) {
    pid_t pid = 0;
    EXPECT_TRUE(absl::SimpleAtoi(out.substr(0, out.find('\n')), &pid)) << out;
    return pid;
  }

  // SIGKILL takes effect asynchronously, and killed processes whose parent
  // is gone are reaped by init: a group is gone once it has no process
  // left that is not a zombie.
  static bool GroupAlive(pid_t pgid) {
    return !PollUntil("group gone", absl::Now() + absl::Seconds(1), [&] {
              return testing::LiveProcessesInGroup(pgid).empty();
            }).ok();
  }

  std::shared_ptr<RunControl> control_;
  RecordingSink sink_;
};

TEST_F(StageRunnerTest, ReportsTheExitCodeAndSeparatesStreams) {
  absl::StatusOr<StageOutcome> outcome =
      Run(Shell("echo out; echo err >&2; exit 3"));
  EXPECT_TRUE(testing::ZombieChildren(::getpid()).empty());
  ASSERT_TRUE(outcome.ok()) << outcome.status();
  EXPECT_EQ(outcome->end, StageEnd::kExited);
  EXPECT_EQ(outcome->status.code, 3);
  EXPECT_EQ(sink_.Output(v1::RUNNING, v1::STDOUT), "out\n");
  EXPECT_EQ(sink_.Output(v1::RUNNING, v1::STDERR), "err\n");
}

TEST_F(StageRunnerTest, SendsOutputBeforeTheProcessEnds) {
  absl::Time first_chunk;
  sink_.on_event = [&](const v1::ExecuteEvent&) {
    if (first_chunk == absl::Time()) first_chunk = absl::Now();
  };
  // No newline: chunks are not line-buffered.
  absl::StatusOr<StageOutcome> outcome =
      Run(Shell("printf partial; sleep 1; printf rest"));
  ASSERT_TRUE(outcome.ok());
  absl::Time ended = absl::Now();
  EXPECT_GE(ended - first_chunk, absl::Milliseconds(800));
  EXPECT_EQ(sink_.Output(v1::RUNNING, v1::STDOUT), "partialrest");
}

TEST_F(StageRunnerTest, FeedsStdinThenClosesIt) {
  StageSpec spec = Shell("cat; echo done");
  spec.stdin_data = std::string(200000, 'x');  // more than a pipe holds
  absl::StatusOr<StageOutcome> outcome = Run(spec);
  ASSERT_TRUE(outcome.ok());
  EXPECT_EQ(sink_.Output(v1::RUNNING, v1::STDOUT),
            std::string(200000, 'x') + "done\n");
}

TEST_F(StageRunnerTest, KillsTheGroupAtTheDeadline) {
  absl::Time start = absl::Now();
  absl::StatusOr<StageOutcome> outcome =
      Run(Shell("echo $$; sleep 60 & while :; do :; done"),
          absl::Milliseconds(500));
  ASSERT_TRUE(outcome.ok());
  EXPECT_EQ(outcome->end, StageEnd::kTimedOut);
  EXPECT_EQ(outcome->status.signal, SIGKILL);
  EXPECT_LT(absl::Now() - start, absl::Seconds(2));
  EXPECT_FALSE(GroupAlive(FirstPid(sink_.Output(v1::RUNNING, v1::STDOUT))));
}

TEST_F(StageRunnerTest, KillsWhatTheLeaderLeftBehind) {
  absl::StatusOr<StageOutcome> outcome =
      Run(Shell("echo $$; sleep 60 >/dev/null 2>&1 & exit 0"));
  ASSERT_TRUE(outcome.ok());
  EXPECT_EQ(outcome->end, StageEnd::kExited);
  EXPECT_FALSE(GroupAlive(FirstPid(sink_.Output(v1::RUNNING, v1::STDOUT))));
}

TEST_F(StageRunnerTest, StopRequestDeliversItsSignal) {
  sink_.on_event = [&](const v1::ExecuteEvent&) {
    control_->RequestStop({SIGTERM, v1::CANCELLED, "test"});
  };
  absl::StatusOr<StageOutcome> outcome = Run(Shell("echo ready; sleep 60"));
  ASSERT_TRUE(outcome.ok());
  EXPECT_EQ(outcome->end, StageEnd::kStopped);
  EXPECT_EQ(outcome->status.signal, SIGTERM);
}

TEST_F(StageRunnerTest, StopEscalatesToSigkillAfterTheGrace) {
  sink_.on_event = [&](const v1::ExecuteEvent&) {
    control_->RequestStop({SIGTERM, v1::CANCELLED, "test"});
  };
  absl::Time start = absl::Now();
  absl::StatusOr<StageOutcome> outcome =
      Run(Shell("trap '' TERM; echo ready; while :; do :; done"));
  ASSERT_TRUE(outcome.ok());
  EXPECT_EQ(outcome->end, StageEnd::kStopped);
  EXPECT_EQ(outcome->status.signal, SIGKILL);
  EXPECT_LT(absl::Now() - start, absl::Seconds(1) + kStopGrace);
}

TEST_F(StageRunnerTest, CutsOutputAtTheBudgetWithANotice) {
  absl::StatusOr<StageOutcome> outcome =
      Run(Shell("echo $$; while :; do echo aaaaaaaaaaaaaaaaaaaaaa; done"),
          absl::Seconds(20), 10000);
  ASSERT_TRUE(outcome.ok());
  EXPECT_EQ(outcome->end, StageEnd::kOutputLimit);
  std::string out = sink_.Output(v1::RUNNING, v1::STDOUT);
  EXPECT_EQ(out.size(), 10000u);
  EXPECT_THAT(sink_.Output(v1::RUNNING, v1::STDERR),
              HasSubstr("output limit of 10000 bytes reached"));
  EXPECT_FALSE(GroupAlive(FirstPid(out)));
}

TEST_F(StageRunnerTest, StopsWhenTheReceiverIsGone) {
  sink_.on_event = [&](const v1::ExecuteEvent&) { sink_.receiver_gone = true; };
  absl::Time start = absl::Now();
  absl::StatusOr<StageOutcome> outcome = Run(Shell("echo ready; sleep 60"));
  ASSERT_TRUE(outcome.ok());
  EXPECT_EQ(outcome->end, StageEnd::kReceiverGone);
  EXPECT_LT(absl::Now() - start, absl::Seconds(1));
}

TEST_F(StageRunnerTest, StopsWhenSendFails) {
  sink_.refuse_from = 0;
  absl::StatusOr<StageOutcome> outcome = Run(Shell("echo ready; sleep 60"));
  ASSERT_TRUE(outcome.ok());
  EXPECT_EQ(outcome->end, StageEnd::kReceiverGone);
}

TEST_F(StageRunnerTest, AMissingProgramIsNotFound) {
  StageSpec spec;
  spec.spawn.argv = {"cloudlet-no-such-tool"};
  EXPECT_EQ(Run(spec).status().code(), absl::StatusCode::kNotFound);
}

TEST(OutputBudget, GrantsUpToItsLimit) {
  OutputBudget budget(10);
  EXPECT_EQ(budget.Take(4), 4u);
  EXPECT_EQ(budget.Take(10), 6u);
  EXPECT_EQ(budget.Take(1), 0u);
}

}  // namespace
}  // namespace cloudlet::agent
