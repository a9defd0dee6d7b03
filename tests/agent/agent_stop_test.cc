// Timeouts, cancels, Signal, the output cap and SIGTERM: each ends the run
// with the right reason and leaves no process of the workload behind.
#include <signal.h>

#include <string>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/sync/poll.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/agent/agent_process.h"

namespace cloudlet::agent_test {
namespace {

using ::testing::HasSubstr;

// Prints its process group id (the shell is the group leader), leaves a
// background process in the group, then spins forever.
constexpr char kEndless[] =
    "echo $$\n"
    "sleep 300 &\n"
    "while :; do :; done\n";

// The group id printed by kEndless, from its first chunk.
pid_t GroupOf(const v1::ExecuteEvent& event) {
  pid_t pgid = 0;
  std::string data = event.output().data();
  EXPECT_TRUE(absl::SimpleAtoi(data.substr(0, data.find('\n')), &pgid)) << data;
  return pgid;
}

bool IsRunningChunk(const v1::ExecuteEvent& event) {
  return event.has_output() && event.output().stage() == v1::RUNNING &&
         event.output().stream() == v1::STDOUT;
}

class AgentStop : public ::testing::Test {
 protected:
  void StartAgent(std::vector<std::string> flags = {}) {
    absl::StatusOr<std::unique_ptr<AgentProcess>> agent =
        AgentProcess::Start(WithFlags(std::move(flags)));
    ASSERT_TRUE(agent.ok()) << agent.status();
    agent_ = *std::move(agent);
  }

  uint32_t ActiveRuns() {
    grpc::ClientContext context;
    context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(5)));
    v1::AgentHealthResponse health;
    EXPECT_TRUE(agent_->stub()
                    .Health(&context, v1::AgentHealthRequest(), &health)
                    .ok());
    return health.active_runs();
  }

  std::unique_ptr<AgentProcess> agent_;
};

TEST_F(AgentStop, EndlessLoopTimesOutAndItsGroupIsKilled) {
  StartAgent();
  v1::ExecuteRequest request = Request(v1::SHELL, kEndless);
  request.mutable_workload()->mutable_timeout()->set_seconds(2);
  pid_t pgid = 0;
  RunRecord run = Execute(agent_->stub(), request, absl::Seconds(30),
                          [&](const v1::ExecuteEvent& event, auto&) {
                            if (pgid == 0 && IsRunningChunk(event)) {
                              pgid = GroupOf(event);
                            }
                          });
  ASSERT_TRUE(run.result.has_value()) << run.Summary();
  EXPECT_LT(run.elapsed, absl::Seconds(3));
  EXPECT_GE(run.elapsed, absl::Seconds(2));
  EXPECT_EQ(run.result->status(), v1::FAILED);
  EXPECT_EQ(run.result->reason(), v1::TIMEOUT);
  EXPECT_EQ(run.result->ended_in(), v1::RUNNING);
  EXPECT_EQ(run.result->signal(), SIGKILL);
  EXPECT_THAT(run.result->message(), HasSubstr("timed out after 2s"));
  ASSERT_GT(pgid, 0);
  EXPECT_TRUE(GroupGoneWithin(pgid, absl::Milliseconds(500)));
}

TEST_F(AgentStop, CancelledCallKillsTheGroupWithinASecond) {
  StartAgent();
  pid_t pgid = 0;
  absl::Time cancelled;
  RunRecord run =
      Execute(agent_->stub(), Request(v1::SHELL, kEndless), absl::Seconds(30),
              [&](const v1::ExecuteEvent& event, grpc::ClientContext& context) {
                if (pgid == 0 && IsRunningChunk(event)) {
                  pgid = GroupOf(event);
                  cancelled = absl::Now();
                  context.TryCancel();
                }
              });
  EXPECT_EQ(run.status.error_code(), grpc::StatusCode::CANCELLED);
  ASSERT_GT(pgid, 0);
  EXPECT_TRUE(
      GroupGoneWithin(pgid, cancelled + absl::Seconds(1) - absl::Now()));
  // The agent is free again.
  EXPECT_TRUE(PollUntil("no active run", absl::Now() + absl::Seconds(1), [&] {
                return ActiveRuns() == 0;
              }).ok());
}

TEST_F(AgentStop, SignalKillsTheRunWhichEndsCancelled) {
  StartAgent();
  v1::ExecuteRequest request = Request(v1::SHELL, kEndless);
  request.set_run_id("to-be-killed");
  pid_t pgid = 0;
  absl::Time signalled;
  RunRecord run =
      Execute(agent_->stub(), request, absl::Seconds(30),
              [&](const v1::ExecuteEvent& event, grpc::ClientContext&) {
                if (pgid != 0 || !IsRunningChunk(event)) return;
                pgid = GroupOf(event);
                EXPECT_EQ(ActiveRuns(), 1u);
                grpc::ClientContext context;
                context.set_deadline(
                    absl::ToChronoTime(absl::Now() + absl::Seconds(5)));
                v1::SignalRequest signal;
                signal.set_run_id("to-be-killed");  // signal 0: SIGKILL
                v1::SignalResponse response;
                signalled = absl::Now();
                grpc::Status status =
                    agent_->stub().Signal(&context, signal, &response);
                EXPECT_TRUE(status.ok()) << status.error_message();
              });
  ASSERT_TRUE(run.result.has_value()) << run.Summary();
  EXPECT_LT(run.arrivals.back() - signalled, absl::Seconds(1));
  EXPECT_EQ(run.result->status(), v1::FAILED);
  EXPECT_EQ(run.result->reason(), v1::CANCELLED);
  EXPECT_EQ(run.result->signal(), SIGKILL);
  EXPECT_TRUE(GroupGoneWithin(pgid, absl::Milliseconds(500)));
}

TEST_F(AgentStop, SignalTermThatIsIgnoredStillEndsWithinASecond) {
  StartAgent();
  v1::ExecuteRequest request =
      Request(v1::SHELL, absl::StrCat("trap '' TERM\n", kEndless));
  request.set_run_id("stubborn");
  pid_t pgid = 0;
  absl::Time signalled;
  RunRecord run = Execute(
      agent_->stub(), request, absl::Seconds(30),
      [&](const v1::ExecuteEvent& event, grpc::ClientContext&) {
        if (pgid != 0 || !IsRunningChunk(event)) return;
        pgid = GroupOf(event);
        grpc::ClientContext context;
        context.set_deadline(
            absl::ToChronoTime(absl::Now() + absl::Seconds(5)));
        v1::SignalRequest signal;
        signal.set_run_id("stubborn");
        signal.set_signal(SIGTERM);
        v1::SignalResponse response;
        signalled = absl::Now();
        EXPECT_TRUE(agent_->stub().Signal(&context, signal, &response).ok());
      });
  ASSERT_TRUE(run.result.has_value()) << run.Summary();
  EXPECT_LT(run.arrivals.back() - signalled, absl::Seconds(1));
  EXPECT_EQ(run.result->reason(), v1::CANCELLED);
  EXPECT_EQ(run.result->signal(), SIGKILL);
  EXPECT_THAT(run.result->message(), HasSubstr("signal 15"));
  EXPECT_TRUE(GroupGoneWithin(pgid, absl::Milliseconds(500)));
}

TEST_F(AgentStop, OutputBeyondTheCapIsCutWithANotice) {
  StartAgent({"--output_limit_bytes=100000"});
  pid_t pgid = 0;
  RunRecord run = Execute(
      agent_->stub(),
      Request(v1::SHELL, "echo $$; while :; do echo 0123456789abcdef; done"),
      absl::Seconds(30), [&](const v1::ExecuteEvent& event, auto&) {
        if (pgid == 0 && IsRunningChunk(event)) pgid = GroupOf(event);
      });
  ASSERT_TRUE(run.result.has_value()) << run.Summary();
  EXPECT_EQ(run.result->status(), v1::FAILED);
  EXPECT_EQ(run.result->reason(), v1::OUTPUT_LIMIT);
  EXPECT_EQ(run.result->signal(), SIGKILL);
  EXPECT_EQ(run.Output(v1::RUNNING, v1::STDOUT).size(), 100000u);
  EXPECT_THAT(run.Output(v1::RUNNING, v1::STDERR),
              HasSubstr("output limit of 100000 bytes reached"));
  EXPECT_THAT(run.result->message(), HasSubstr("100000 bytes"));
  EXPECT_TRUE(GroupGoneWithin(pgid, absl::Milliseconds(500)));
}

TEST_F(AgentStop, AWorkloadMayAskForALowerOutputCap) {
  StartAgent();
  v1::ExecuteRequest request =
      Request(v1::SHELL, "while :; do echo 0123456789abcdef; done");
  request.mutable_workload()->set_output_limit_bytes(1000);
  RunRecord run = Execute(agent_->stub(), request);
  ASSERT_TRUE(run.result.has_value()) << run.Summary();
  EXPECT_EQ(run.result->reason(), v1::OUTPUT_LIMIT);
  EXPECT_EQ(run.Output(v1::RUNNING, v1::STDOUT).size(), 1000u);
}

TEST_F(AgentStop, SigtermStopsTheAgentCleanlyAndEndsRunsAsShuttingDown) {
  StartAgent();
  pid_t pgid = 0;
  RunRecord run =
      Execute(agent_->stub(), Request(v1::SHELL, kEndless), absl::Seconds(30),
              [&](const v1::ExecuteEvent& event, auto&) {
                if (pgid == 0 && IsRunningChunk(event)) {
                  pgid = GroupOf(event);
                  ::kill(agent_->pid(), SIGTERM);  // while its workload runs
                }
              });
  absl::StatusOr<ExitStatus> exit = agent_->Terminate(absl::Seconds(5));
  ASSERT_TRUE(exit.ok()) << exit.status();
  EXPECT_TRUE(exit->success()) << exit->ToString();
  ASSERT_TRUE(run.result.has_value()) << run.Summary();
  EXPECT_EQ(run.result->reason(), v1::SHUTTING_DOWN);
  EXPECT_EQ(run.result->signal(), SIGKILL);
  EXPECT_TRUE(GroupGoneWithin(pgid, absl::Milliseconds(500)));
  EXPECT_TRUE(std::filesystem::is_empty(agent_->work_root()));
}

}  // namespace
}  // namespace cloudlet::agent_test
