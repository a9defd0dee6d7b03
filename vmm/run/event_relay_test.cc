#include "vmm/run/event_relay.h"

#include <vector>

#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "vmm/run/proto_time.h"

namespace cloudlet::vmm {
namespace {

class VectorSink : public RunEventSink {
 public:
  bool Send(const v1::RunEvent& event) override {
    events.push_back(event);
    return true;
  }
  std::vector<v1::RunEvent> events;
};

v1::ExecuteEvent AgentStage(v1::Stage stage) {
  v1::ExecuteEvent event;
  event.mutable_stage()->set_stage(stage);
  return event;
}

v1::ExecuteEvent AgentOutput(const std::string& data) {
  v1::ExecuteEvent event;
  event.mutable_output()->set_stage(v1::RUNNING);
  event.mutable_output()->set_stream(v1::STDOUT);
  event.mutable_output()->set_data(data);
  return event;
}

v1::ExecuteEvent AgentResult(int exit_code) {
  v1::ExecuteEvent event;
  v1::Result* result = event.mutable_result();
  result->set_status(v1::DONE);
  result->set_ended_in(v1::RUNNING);
  result->set_reason(v1::EXITED);
  result->set_exit_code(exit_code);
  *result->mutable_timings()->mutable_run() =
      ToProtoDuration(absl::Milliseconds(30));
  return event;
}

TEST(EventRelay, RelaysTheAgentsEventsAndAddsTheVmmTimingsToItsResult) {
  VectorSink sink;
  ManualClock clock;
  EventRelay relay("run1", &clock, clock.Now(), &sink);
  relay.Accepted();
  relay.timings().prepare = absl::Milliseconds(5);
  relay.timings().boot = absl::Milliseconds(900);
  v1::ExecuteEvent agent_accepted;
  agent_accepted.mutable_accepted()->set_run_id("run1");
  relay.FromAgent(agent_accepted);
  relay.FromAgent(AgentStage(v1::RUNNING));
  relay.FromAgent(AgentOutput("hello\n"));
  relay.FromAgent(AgentStage(v1::DONE));
  relay.FromAgent(AgentResult(3));
  EXPECT_TRUE(relay.has_agent_result());
  relay.FinishWithAgentResult();

  ASSERT_EQ(sink.events.size(), 5u);
  EXPECT_EQ(sink.events[0].accepted().run_id(), "run1");
  EXPECT_EQ(sink.events[1].stage().stage(), v1::RUNNING);
  EXPECT_EQ(sink.events[2].output().data(), "hello\n");
  EXPECT_EQ(sink.events[3].stage().stage(), v1::DONE);
  const v1::Result& result = sink.events[4].result();
  EXPECT_EQ(result.exit_code(), 3);
  EXPECT_EQ(result.status(), v1::DONE);
  EXPECT_EQ(FromProtoDuration(result.timings().run()), absl::Milliseconds(30));
  EXPECT_EQ(FromProtoDuration(result.timings().boot()),
            absl::Milliseconds(900));
  EXPECT_EQ(FromProtoDuration(result.timings().prepare()),
            absl::Milliseconds(5));
  EXPECT_FALSE(result.timings().has_queue());
  EXPECT_EQ(FromProtoDuration(result.timings().total()), absl::ZeroDuration());
}

TEST(EventRelay, TheResultsTotalAndVmReadyTimeComeFromItsClock) {
  ManualClock clock;
  VectorSink sink;
  EventRelay relay("timed", &clock, clock.Now(), &sink);
  relay.Accepted();
  clock.Advance(absl::Milliseconds(250));
  relay.Booted("tcg", absl::Milliseconds(200), 256, 1, /*resumed=*/true);
  clock.Advance(absl::Seconds(3));
  relay.FromAgent(AgentResult(0));
  relay.FinishWithAgentResult();
  const v1::Result& result = sink.events.back().result();
  EXPECT_EQ(FromProtoDuration(result.timings().total()),
            absl::Milliseconds(3250));
  EXPECT_TRUE(result.telemetry().vm_resumed());
  EXPECT_EQ(FromProtoDuration(result.telemetry().vm_ready()),
            absl::Milliseconds(250));
}

TEST(EventRelay, FailEndsInTheCurrentStageWithAStageChangeAndOneResult) {
  VectorSink sink;
  EventRelay relay("run2", Clock::Real(), absl::Now(), &sink);
  relay.Accepted();
  relay.Stage(v1::BOOTING, "starting");
  relay.Fail(v1::BOOT_FAILED, "the VM did not boot", "Kernel panic\n");
  relay.Fail(v1::INTERNAL_ERROR, "a second ending is ignored");

  ASSERT_EQ(sink.events.size(), 4u);
  EXPECT_EQ(sink.events[2].stage().stage(), v1::FAILED);
  const v1::Result& result = sink.events[3].result();
  EXPECT_EQ(result.status(), v1::FAILED);
  EXPECT_EQ(result.ended_in(), v1::BOOTING);
  EXPECT_EQ(result.reason(), v1::BOOT_FAILED);
  EXPECT_EQ(result.message(), "the VM did not boot");
  EXPECT_EQ(result.console_tail(), "Kernel panic\n");
  EXPECT_TRUE(relay.finished());
}

TEST(EventRelay, TracksTheAgentsStageForTheEndingOfADyingVm) {
  VectorSink sink;
  EventRelay relay("run3", Clock::Real(), absl::Now(), &sink);
  relay.Stage(v1::BOOTING, "");
  relay.FromAgent(AgentStage(v1::BUILDING));
  relay.FromAgent(AgentStage(v1::RUNNING));
  EXPECT_EQ(relay.stage(), v1::RUNNING);
  relay.Fail(v1::VM_DIED, "the VM died");
  EXPECT_EQ(sink.events.back().result().ended_in(), v1::RUNNING);
  EXPECT_FALSE(sink.events.back().result().has_exit_code());
}

TEST(EventRelay, ClosesWithTheFinalStageWhenTheAgentSentNone) {
  VectorSink sink;
  EventRelay relay("run5", Clock::Real(), absl::Now(), &sink);
  relay.FromAgent(AgentStage(v1::RUNNING));
  relay.FromAgent(AgentResult(0));
  relay.FinishWithAgentResult();
  ASSERT_EQ(sink.events.size(), 3u);
  EXPECT_EQ(sink.events[1].stage().stage(), v1::DONE);
  EXPECT_TRUE(sink.events[2].has_result());
}

TEST(EventRelay, FinishingWithoutAnAgentResultIsAnInternalError) {
  VectorSink sink;
  EventRelay relay("run4", Clock::Real(), absl::Now(), &sink);
  relay.FromAgent(AgentStage(v1::RUNNING));
  relay.FinishWithAgentResult();
  EXPECT_EQ(sink.events.back().result().reason(), v1::INTERNAL_ERROR);
}

}  // namespace
}  // namespace cloudlet::vmm
