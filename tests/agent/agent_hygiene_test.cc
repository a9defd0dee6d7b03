// Whatever way runs end, the agent keeps no process, zombie, fd or work dir
// of theirs; SIGTERM stops it cleanly.
#include <signal.h>

#include <string>

#include "agent/testing/process_table.h"
#include "common/sync/poll.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/agent/agent_process.h"

namespace cloudlet::agent_test {
namespace {

using agent::testing::LiveChildren;
using agent::testing::OpenFdCount;
using agent::testing::ZombieChildren;

TEST(AgentHygiene, NoProcessFdOrWorkDirOutlivesACall) {
  absl::StatusOr<std::unique_ptr<AgentProcess>> started = AgentProcess::Start();
  ASSERT_TRUE(started.ok()) << started.status();
  AgentProcess& agent = **started;

  auto run_mix = [&] {
    // Ends normally, with a background process left behind.
    Execute(agent.stub(), Request(v1::SHELL, "sleep 300 & echo done"));
    // A failed build.
    Execute(agent.stub(), Request(v1::C, "int main( {"));
    // A timeout.
    v1::ExecuteRequest endless = Request(v1::SHELL, "while :; do :; done");
    endless.mutable_workload()->mutable_timeout()->set_nanos(300000000);
    Execute(agent.stub(), endless);
    // A cancelled call.
    Execute(agent.stub(), Request(v1::SHELL, "echo go; sleep 300"),
            absl::Seconds(30),
            [](const v1::ExecuteEvent& event, grpc::ClientContext& context) {
              if (event.has_output()) context.TryCancel();
            });
    // A refused one.
    Execute(agent.stub(), Request(v1::SHELL, ""));
  };

  // A cancelled call ends for the client at once, while the agent may
  // still be cleaning up for a few milliseconds: wait until it is idle.
  auto idle = [&] {
    return ZombieChildren(agent.pid()).empty() &&
           LiveChildren(agent.pid()).empty() &&
           std::filesystem::is_empty(agent.work_root());
  };
  run_mix();  // warms up gRPC's own threads and descriptors
  ASSERT_TRUE(
      PollUntil("agent idle", absl::Now() + absl::Seconds(2), idle).ok());
  size_t fds = OpenFdCount(agent.pid());

  for (int i = 0; i < 3; ++i) run_mix();
  EXPECT_TRUE(
      PollUntil("agent idle", absl::Now() + absl::Seconds(2), idle).ok())
      << "zombies: " << ZombieChildren(agent.pid()).size()
      << " live children: " << LiveChildren(agent.pid()).size()
      << " work dir empty: " << std::filesystem::is_empty(agent.work_root());
  EXPECT_TRUE(PollUntil("fds back to baseline", absl::Now() + absl::Seconds(2),
                        [&] { return OpenFdCount(agent.pid()) <= fds; })
                  .ok())
      << "before: " << fds << " after: " << OpenFdCount(agent.pid());
}

TEST(AgentHygiene, SigtermWhenIdleExitsZero) {
  absl::StatusOr<std::unique_ptr<AgentProcess>> agent = AgentProcess::Start();
  ASSERT_TRUE(agent.ok()) << agent.status();
  absl::Time start = absl::Now();
  absl::StatusOr<ExitStatus> exit = (*agent)->Terminate(absl::Seconds(5));
  ASSERT_TRUE(exit.ok()) << exit.status();
  EXPECT_TRUE(exit->success()) << exit->ToString();
  EXPECT_LT(absl::Now() - start, absl::Seconds(1));
}

}  // namespace
}  // namespace cloudlet::agent_test
