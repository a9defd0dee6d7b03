// A compile error ends the run in the build stage with the compiler's
// message and exit code, and runs nothing.
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/agent/agent_process.h"

namespace cloudlet::agent_test {
namespace {

using ::testing::HasSubstr;

class BuildFailure : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<std::unique_ptr<AgentProcess>> agent = AgentProcess::Start();
    ASSERT_TRUE(agent.ok()) << agent.status();
    agent_ = *std::move(agent);
  }

  static void ExpectFailedInBuild(const RunRecord& run) {
    ASSERT_TRUE(run.status.ok()) << run.Summary();
    ASSERT_TRUE(run.result.has_value()) << run.Summary();
    EXPECT_EQ(run.result->status(), v1::FAILED);
    EXPECT_EQ(run.result->reason(), v1::BUILD_FAILED);
    EXPECT_EQ(run.result->ended_in(), v1::BUILDING);
    ASSERT_TRUE(run.result->has_exit_code()) << run.Summary();
    EXPECT_NE(run.result->exit_code(), 0);
    for (const v1::ExecuteEvent& event : run.events) {
      EXPECT_FALSE(event.has_stage() && event.stage().stage() == v1::RUNNING)
          << "nothing runs after a failed build: " << run.Summary();
    }
    EXPECT_FALSE(run.result->timings().has_run());
  }

  std::unique_ptr<AgentProcess> agent_;
};

TEST_F(BuildFailure, RustCompileErrorEndsFailedWithRustcMessage) {
  RunRecord run = Execute(
      agent_->stub(),
      Request(v1::RUST,
              "fn main() { let x: i32 = \"text\"; println!(\"{}\", x); }\n"),
      absl::Seconds(120));
  ExpectFailedInBuild(run);
  EXPECT_EQ(run.result->exit_code(), 101);  // cargo's code for a failed build
  std::string compiler = run.Output(v1::BUILDING, v1::STDERR);
  EXPECT_THAT(compiler, HasSubstr("error[E0308]"));
  EXPECT_THAT(compiler, HasSubstr("mismatched types"));
  EXPECT_THAT(run.result->message(), HasSubstr("cargo build --offline"));
}

TEST_F(BuildFailure, CCompileErrorEndsFailedWithGccMessage) {
  RunRecord run = Execute(
      agent_->stub(),
      Request(v1::C, "int main(void) { return undeclared_variable; }\n"));
  ExpectFailedInBuild(run);
  EXPECT_EQ(run.result->exit_code(), 1);
  std::string compiler = run.Output(v1::BUILDING, v1::STDERR);
  EXPECT_THAT(compiler, HasSubstr("main.c:1"));
  EXPECT_THAT(compiler, HasSubstr("undeclared_variable"));
  EXPECT_THAT(compiler, HasSubstr("error"));
}

TEST_F(BuildFailure, PythonSyntaxErrorFailsTheCheck) {
  RunRecord run =
      Execute(agent_->stub(), Request(v1::PYTHON, "print('unclosed'\n"));
  ExpectFailedInBuild(run);
  EXPECT_THAT(run.Output(v1::BUILDING, v1::STDERR), HasSubstr("SyntaxError"));
}

TEST_F(BuildFailure, NodeSyntaxErrorFailsTheCheck) {
  RunRecord run = Execute(agent_->stub(), Request(v1::NODE, "function ( {\n"));
  ExpectFailedInBuild(run);
  EXPECT_THAT(run.Output(v1::BUILDING, v1::STDERR), HasSubstr("SyntaxError"));
}

}  // namespace
}  // namespace cloudlet::agent_test
