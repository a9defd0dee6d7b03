// How output and exit status travel from the workload to the client.
#include <signal.h>

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/agent/agent_process.h"

namespace cloudlet::agent_test {
namespace {

using ::testing::HasSubstr;

class AgentOutput : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<std::unique_ptr<AgentProcess>> agent = AgentProcess::Start();
    ASSERT_TRUE(agent.ok()) << agent.status();
    agent_ = *std::move(agent);
  }

  // When the client had received RUNNING stdout containing `text`.
  static absl::Time ReceivedAt(const RunRecord& run, const std::string& text) {
    std::string so_far;
    for (size_t i = 0; i < run.events.size(); ++i) {
      const v1::ExecuteEvent& event = run.events[i];
      if (!event.has_output() || event.output().stage() != v1::RUNNING) {
        continue;
      }
      so_far += event.output().data();
      if (so_far.find(text) != std::string::npos) return run.arrivals[i];
    }
    ADD_FAILURE() << "never received \"" << text << "\": " << run.Summary();
    return absl::InfiniteFuture();
  }

  static bool RanAnything(const RunRecord& run) {
    for (const v1::ExecuteEvent& event : run.events) {
      if (event.has_output() && event.output().stage() == v1::RUNNING) {
        return true;
      }
    }
    return false;
  }

  std::unique_ptr<AgentProcess> agent_;
};

TEST_F(AgentOutput, StreamsEachLineAsItIsPrinted) {
  // A line, a second of silence, another line: the first must reach the
  // client while the program still sleeps.
  RunRecord run = Execute(
      agent_->stub(), Request(v1::SHELL, "echo first; sleep 1; echo second"));
  ASSERT_TRUE(run.result.has_value()) << run.Summary();
  EXPECT_EQ(run.Output(v1::RUNNING, v1::STDOUT), "first\nsecond\n");
  EXPECT_GE(ReceivedAt(run, "second") - ReceivedAt(run, "first"),
            absl::Milliseconds(800));
}

TEST_F(AgentOutput, StreamsPythonOutputWithoutBuffering) {
  RunRecord run = Execute(
      agent_->stub(),
      Request(v1::PYTHON,
              "import time\nprint('first')\ntime.sleep(1)\nprint('second')\n"));
  ASSERT_TRUE(run.result.has_value()) << run.Summary();
  EXPECT_EQ(run.Output(v1::RUNNING, v1::STDOUT), "first\nsecond\n");
  EXPECT_GE(ReceivedAt(run, "second") - ReceivedAt(run, "first"),
            absl::Milliseconds(800));
}

TEST_F(AgentOutput, StreamsAPartialLineWithoutWaitingForItsEnd) {
  RunRecord run = Execute(
      agent_->stub(), Request(v1::SHELL, "printf 'no newline'; sleep 1; echo"));
  ASSERT_TRUE(run.result.has_value()) << run.Summary();
  EXPECT_GE(run.arrivals.back() - ReceivedAt(run, "no newline"),
            absl::Milliseconds(800));
}

TEST_F(AgentOutput, KeepsStdoutAndStderrApart) {
  RunRecord run = Execute(
      agent_->stub(),
      Request(v1::SHELL, "echo to-out; echo to-err >&2; echo more-out"));
  ASSERT_TRUE(run.result.has_value()) << run.Summary();
  EXPECT_EQ(run.Output(v1::RUNNING, v1::STDOUT), "to-out\nmore-out\n");
  EXPECT_EQ(run.Output(v1::RUNNING, v1::STDERR), "to-err\n");
}

TEST_F(AgentOutput, ReportsExitCodeThreeAsThree) {
  RunRecord run = Execute(
      agent_->stub(),
      Request(v1::C, "#include <stdlib.h>\nint main(void) { exit(3); }\n"));
  ASSERT_TRUE(run.result.has_value()) << run.Summary();
  EXPECT_EQ(run.result->status(), v1::DONE);
  EXPECT_EQ(run.result->reason(), v1::EXITED);
  ASSERT_TRUE(run.result->has_exit_code()) << run.Summary();
  EXPECT_EQ(run.result->exit_code(), 3);
  EXPECT_THAT(run.result->message(), HasSubstr("exit code 3"));
}

TEST_F(AgentOutput, ReportsTheSignalThatKilledTheWorkload) {
  RunRecord run = Execute(
      agent_->stub(),
      Request(v1::C,
              "#include <signal.h>\n#include <stdio.h>\n"
              "int main(void) { puts(\"about to crash\"); fflush(stdout);\n"
              "  raise(SIGSEGV); return 0; }\n"));
  ASSERT_TRUE(run.result.has_value()) << run.Summary();
  EXPECT_EQ(run.result->status(), v1::DONE);
  EXPECT_EQ(run.result->reason(), v1::EXITED);
  ASSERT_TRUE(run.result->has_signal()) << run.Summary();
  EXPECT_EQ(run.result->signal(), SIGSEGV);
  EXPECT_EQ(run.Output(v1::RUNNING, v1::STDOUT), "about to crash\n");
}

TEST_F(AgentOutput, PassesArgsEnvAndStdin) {
  v1::ExecuteRequest request = Request(
      v1::PYTHON,
      "import os, sys\n"
      "print(sys.argv[1:], os.environ['GREETING'], sys.stdin.read())\n");
  request.mutable_workload()->add_args("one");
  request.mutable_workload()->add_args("two words");
  (*request.mutable_workload()->mutable_env())["GREETING"] = "hi";
  request.mutable_workload()->set_stdin("piped");
  RunRecord run = Execute(agent_->stub(), request);
  ASSERT_TRUE(run.result.has_value()) << run.Summary();
  EXPECT_EQ(run.Output(v1::RUNNING, v1::STDOUT),
            "['one', 'two words'] hi piped\n");
}

TEST_F(AgentOutput, CarriesBinaryOutputUnchanged) {
  RunRecord run =
      Execute(agent_->stub(), Request(v1::SHELL, "printf 'a\\000b\\377c'"));
  ASSERT_TRUE(run.result.has_value()) << run.Summary();
  EXPECT_EQ(run.Output(v1::RUNNING, v1::STDOUT), std::string("a\0b\377c", 5));
}

TEST_F(AgentOutput, PrepareOnlyBuildsAndRunsNothing) {
  v1::ExecuteRequest request =
      Request(v1::C, "#include <stdio.h>\nint main(void) { puts(\"ran\"); }\n");
  request.mutable_workload()->set_action(v1::PREPARE);
  RunRecord run = Execute(agent_->stub(), request);
  ASSERT_TRUE(run.result.has_value()) << run.Summary();
  EXPECT_EQ(run.result->status(), v1::DONE);
  EXPECT_EQ(run.result->ended_in(), v1::BUILDING);
  EXPECT_FALSE(RanAnything(run)) << run.Summary();
}

}  // namespace
}  // namespace cloudlet::agent_test
