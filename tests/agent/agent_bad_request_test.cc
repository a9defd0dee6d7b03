// Requests the agent cannot run are refused before any event, with a code
// and a message that say what to fix.
#include <string>

#include "absl/strings/str_cat.h"
#include "common/process/temp_dir.h"
#include "common/run_limits.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/agent/agent_process.h"

namespace cloudlet::agent_test {
namespace {

using ::testing::HasSubstr;

class BadRequest : public ::testing::Test {
 protected:
  void StartAgent(AgentProcessOptions options = {}) {
    absl::StatusOr<std::unique_ptr<AgentProcess>> agent =
        AgentProcess::Start(std::move(options));
    ASSERT_TRUE(agent.ok()) << agent.status();
    agent_ = *std::move(agent);
  }

  // Expects the call to fail with `code` and a message containing `text`,
  // before any event.
  void ExpectRefused(const v1::ExecuteRequest& request, grpc::StatusCode code,
                     const std::string& text) {
    RunRecord run = Execute(agent_->stub(), request);
    EXPECT_EQ(run.status.error_code(), code) << run.Summary();
    EXPECT_THAT(run.status.error_message(), HasSubstr(text));
    EXPECT_TRUE(run.events.empty()) << run.Summary();
  }

  std::unique_ptr<AgentProcess> agent_;
};

TEST_F(BadRequest, EmptyCodeIsInvalidArgument) {
  StartAgent();
  ExpectRefused(Request(v1::PYTHON, ""), grpc::StatusCode::INVALID_ARGUMENT,
                "workload.code: empty");
}

TEST_F(BadRequest, UnsetLanguageIsInvalidArgumentListingTheLanguages) {
  StartAgent();
  ExpectRefused(Request(v1::LANGUAGE_UNSPECIFIED, "x"),
                grpc::StatusCode::INVALID_ARGUMENT,
                "use one of rust, python, node, c, cpp, shell");
}

TEST_F(BadRequest, UnknownLanguageIsInvalidArgument) {
  StartAgent();
  ExpectRefused(Request(static_cast<v1::Language>(42), "x"),
                grpc::StatusCode::INVALID_ARGUMENT, "unknown language 42");
}

TEST_F(BadRequest, CodeOverTheDefaultCapIsInvalidArgument) {
  StartAgent();
  ExpectRefused(Request(v1::SHELL, std::string(kMaxCodeBytes + 1, '#')),
                grpc::StatusCode::INVALID_ARGUMENT,
                absl::StrCat("workload.code: ", kMaxCodeBytes + 1,
                             " bytes, over the limit of ", kMaxCodeBytes,
                             " bytes"));
}

TEST_F(BadRequest, CodeOverAConfiguredCapIsInvalidArgument) {
  StartAgent(WithFlags({"--max_code_bytes=100"}));
  ExpectRefused(Request(v1::SHELL, std::string(101, '#')),
                grpc::StatusCode::INVALID_ARGUMENT, "limit of 100 bytes");
  RunRecord run =
      Execute(agent_->stub(), Request(v1::SHELL, std::string(100, '#')));
  EXPECT_TRUE(run.status.ok()) << run.Summary();
}

TEST_F(BadRequest, MissingToolchainIsFailedPreconditionNamingTheTool) {
  // An agent whose PATH has a shell and nothing else.
  absl::StatusOr<TempDir> bin = TempDir::Create("only-sh-");
  ASSERT_TRUE(bin.ok());
  std::filesystem::create_symlink("/bin/sh", bin->path() / "sh");
  AgentProcessOptions options;
  options.env = {absl::StrCat("PATH=", bin->path().string()), "HOME=/tmp"};
  StartAgent(options);
  ExpectRefused(Request(v1::RUST, "fn main() {}"),
                grpc::StatusCode::FAILED_PRECONDITION, "needs `cargo`");
  ExpectRefused(Request(v1::PYTHON, "print(1)"),
                grpc::StatusCode::FAILED_PRECONDITION, "needs `python3`");
  ExpectRefused(Request(v1::NODE, "1"), grpc::StatusCode::FAILED_PRECONDITION,
                "needs `node`");
  ExpectRefused(Request(v1::C, "int main(){}"),
                grpc::StatusCode::FAILED_PRECONDITION, "needs `gcc`");
  ExpectRefused(Request(v1::CPP, "int main(){}"),
                grpc::StatusCode::FAILED_PRECONDITION, "needs `g++`");
  // What is installed still runs.
  RunRecord run = Execute(agent_->stub(), Request(v1::SHELL, "echo ok"));
  EXPECT_EQ(run.Output(v1::RUNNING, v1::STDOUT), "ok\n") << run.Summary();
}

TEST_F(BadRequest, BadRunIdIsInvalidArgument) {
  StartAgent();
  v1::ExecuteRequest request = Request(v1::SHELL, "true");
  request.set_run_id("../escape");
  ExpectRefused(request, grpc::StatusCode::INVALID_ARGUMENT, "run_id");
}

TEST_F(BadRequest, ARunIdInUseIsAlreadyExists) {
  StartAgent();
  v1::ExecuteRequest request = Request(v1::SHELL, "echo started; sleep 30");
  request.set_run_id("twice");
  RunRecord first =
      Execute(agent_->stub(), request, absl::Seconds(30),
              [&](const v1::ExecuteEvent& event, grpc::ClientContext& context) {
                if (!event.has_output()) return;
                ExpectRefused(request, grpc::StatusCode::ALREADY_EXISTS,
                              "run twice is already running");
                context.TryCancel();
              });
  EXPECT_EQ(first.status.error_code(), grpc::StatusCode::CANCELLED);
}

TEST_F(BadRequest, RunsBeyondMaxRunsAreResourceExhausted) {
  StartAgent(WithFlags({"--max_runs=1"}));
  RunRecord first = Execute(
      agent_->stub(), Request(v1::SHELL, "echo started; sleep 30"),
      absl::Seconds(30),
      [&](const v1::ExecuteEvent& event, grpc::ClientContext& context) {
        if (!event.has_output()) return;
        ExpectRefused(Request(v1::SHELL, "true"),
                      grpc::StatusCode::RESOURCE_EXHAUSTED, "its limit");
        context.TryCancel();
      });
  EXPECT_EQ(first.status.error_code(), grpc::StatusCode::CANCELLED);
}

TEST_F(BadRequest, SignalToAnUnknownRunIsNotFound) {
  StartAgent();
  grpc::ClientContext context;
  context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(5)));
  v1::SignalRequest request;
  request.set_run_id("nobody");
  v1::SignalResponse response;
  grpc::Status status = agent_->stub().Signal(&context, request, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_THAT(status.error_message(), HasSubstr("nobody"));
}

}  // namespace
}  // namespace cloudlet::agent_test
