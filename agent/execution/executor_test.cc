#include "agent/execution/executor.h"

#include <signal.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <optional>
#include <string>

#include "agent/testing/recording_sink.h"
#include "common/process/temp_dir.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace cloudlet::agent {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

class ExecutorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<TempDir> root = TempDir::Create("executor-test-");
    ASSERT_TRUE(root.ok());
    root_.emplace(*std::move(root));
    options_.work_root = root_->path();
    const char* path = std::getenv("PATH");
    options_.base_env = {absl::StrCat("PATH=", path ? path : "/usr/bin:/bin"),
                         "KEPT=base"};
    absl::StatusOr<std::shared_ptr<RunControl>> control =
        RunControl::Create("test");
    ASSERT_TRUE(control.ok());
    control_ = *control;
  }

  static v1::ExecuteRequest Request(v1::Language language, std::string code) {
    v1::ExecuteRequest request;
    request.set_run_id("r1");
    request.mutable_workload()->set_language(language);
    request.mutable_workload()->set_code(std::move(code));
    return request;
  }

  // Prepares and runs; fails the test if Prepare fails.
  v1::Result Execute(const v1::ExecuteRequest& request) {
    Executor executor(options_);
    absl::StatusOr<PreparedRun> run = executor.Prepare(request);
    EXPECT_TRUE(run.ok()) << run.status();
    if (!run.ok()) return {};
    return executor.Run(*run, *control_, sink_);
  }

  bool WorkRootEmpty() const {
    return std::filesystem::is_empty(root_->path());
  }

  std::optional<TempDir> root_;
  ExecutorOptions options_;
  std::shared_ptr<RunControl> control_;
  RecordingSink sink_;
};

TEST_F(ExecutorTest, TheResultGoesOutBeforeTheWorkDirIsRemoved) {
  std::optional<bool> work_dir_there_at_result;
  sink_.on_event = [&](const v1::ExecuteEvent& event) {
    if (event.has_result()) work_dir_there_at_result = !WorkRootEmpty();
  };
  v1::Result result = Execute(Request(v1::SHELL, "echo hello"));
  EXPECT_EQ(result.status(), v1::DONE);
  ASSERT_TRUE(work_dir_there_at_result.has_value());
  EXPECT_TRUE(*work_dir_there_at_result);
  EXPECT_TRUE(WorkRootEmpty());  // gone by the time Run() returns
}

TEST_F(ExecutorTest, StreamsAcceptedStageOutputThenResult) {
  v1::Result result = Execute(Request(v1::SHELL, "echo hello"));
  ASSERT_EQ(sink_.events.size(), 4u);
  EXPECT_EQ(sink_.events[0].accepted().run_id(), "r1");
  EXPECT_EQ(sink_.events[1].stage().stage(), v1::RUNNING);
  EXPECT_EQ(sink_.events[1].stage().detail(), "sh main.sh");
  EXPECT_EQ(sink_.events[2].output().data(), "hello\n");
  EXPECT_TRUE(sink_.events[3].has_result());
  EXPECT_EQ(result.status(), v1::DONE);
  EXPECT_EQ(result.reason(), v1::EXITED);
  EXPECT_EQ(result.ended_in(), v1::RUNNING);
  EXPECT_TRUE(result.has_exit_code());
  EXPECT_EQ(result.exit_code(), 0);
  EXPECT_TRUE(result.timings().has_run());
  EXPECT_FALSE(result.timings().has_build());
  EXPECT_TRUE(result.timings().has_total());
  EXPECT_TRUE(WorkRootEmpty());
}

TEST_F(ExecutorTest, GivesTheProgramArgsEnvAndStdin) {
  v1::ExecuteRequest request =
      Request(v1::SHELL, "echo \"$1 $2 $KEPT $MINE\"; cat");
  request.mutable_workload()->add_args("a b");
  request.mutable_workload()->add_args("c");
  (*request.mutable_workload()->mutable_env())["MINE"] = "mine";
  request.mutable_workload()->set_stdin("from stdin");
  Execute(request);
  EXPECT_EQ(sink_.Output(v1::RUNNING, v1::STDOUT),
            "a b c base mine\nfrom stdin");
}

TEST_F(ExecutorTest, RunEnvReachesTheProgramButNotTheBuild) {
  v1::ExecuteRequest request = Request(
      v1::C,
      "#include <stdio.h>\n#include <stdlib.h>\n"
      "int main(){puts(getenv(\"PATH\"));}");
  // Had the build seen this PATH, gcc would not have been found.
  (*request.mutable_workload()->mutable_run_env())["PATH"] = "/run-only";
  v1::Result result = Execute(request);
  EXPECT_EQ(result.status(), v1::DONE) << result.message();
  EXPECT_EQ(sink_.Output(v1::RUNNING, v1::STDOUT), "/run-only\n");
}

TEST_F(ExecutorTest, RunsInAPrivateWorkDirWithItsOwnTmp) {
  Execute(Request(v1::SHELL, "pwd; echo $TMPDIR; ls"));
  std::string out = sink_.Output(v1::RUNNING, v1::STDOUT);
  std::string run_dir = (root_->path() / "run-r1-").string();
  EXPECT_THAT(out, StartsWith(run_dir));
  EXPECT_THAT(out, HasSubstr("/tmp\nmain.sh\n"));
  EXPECT_TRUE(WorkRootEmpty());
}

TEST_F(ExecutorTest, ACompileErrorEndsFailedInTheBuildStage) {
  v1::Result result = Execute(Request(v1::C, "int main( { return 0; }"));
  EXPECT_EQ(result.status(), v1::FAILED);
  EXPECT_EQ(result.reason(), v1::BUILD_FAILED);
  EXPECT_EQ(result.ended_in(), v1::BUILDING);
  EXPECT_EQ(result.exit_code(), 1);
  EXPECT_THAT(result.message(), HasSubstr("gcc -O2"));
  EXPECT_THAT(sink_.Output(v1::BUILDING, v1::STDERR), HasSubstr("error"));
  for (const v1::ExecuteEvent& event : sink_.events) {
    EXPECT_FALSE(event.has_stage() && event.stage().stage() == v1::RUNNING);
  }
  EXPECT_TRUE(result.timings().has_build());
  EXPECT_FALSE(result.timings().has_run());
}

TEST_F(ExecutorTest, PrepareOnlyBuildsAndRunsNothing) {
  v1::ExecuteRequest request =
      Request(v1::C, "#include <stdio.h>\nint main(){puts(\"ran\");}");
  request.mutable_workload()->set_action(v1::PREPARE);
  v1::Result result = Execute(request);
  EXPECT_EQ(result.status(), v1::DONE);
  EXPECT_EQ(result.ended_in(), v1::BUILDING);
  EXPECT_EQ(result.exit_code(), 0);
  EXPECT_EQ(sink_.Output(v1::RUNNING, v1::STDOUT), "");
}

TEST_F(ExecutorTest, RunSkipsThePythonSyntaxCheck) {
  v1::ExecuteRequest request = Request(v1::PYTHON, "print('hi')");
  request.mutable_workload()->set_action(v1::RUN);
  Executor executor(options_);
  absl::StatusOr<PreparedRun> run = executor.Prepare(request);
  ASSERT_TRUE(run.ok());
  EXPECT_FALSE(run->build);
  EXPECT_TRUE(run->run);
  request.mutable_workload()->set_action(v1::ACTION_UNSPECIFIED);
  run = executor.Prepare(request);
  EXPECT_TRUE(run->build);
  EXPECT_TRUE(run->run);
}

TEST_F(ExecutorTest, AStopBeforeTheRunStartsCancelsIt) {
  control_->RequestStop({SIGKILL, v1::CANCELLED, "stopped early"});
  v1::Result result = Execute(Request(v1::SHELL, "echo never"));
  EXPECT_EQ(result.status(), v1::FAILED);
  EXPECT_EQ(result.reason(), v1::CANCELLED);
  EXPECT_EQ(result.message(), "stopped early");
  EXPECT_FALSE(result.has_exit_code() || result.has_signal());
  EXPECT_TRUE(WorkRootEmpty());
}

TEST_F(ExecutorTest, TimeoutIsReportedWithTheKillingSignal) {
  v1::ExecuteRequest request = Request(v1::SHELL, "while :; do :; done");
  request.mutable_workload()->mutable_timeout()->set_nanos(300000000);
  v1::Result result = Execute(request);
  EXPECT_EQ(result.reason(), v1::TIMEOUT);
  EXPECT_EQ(result.ended_in(), v1::RUNNING);
  EXPECT_EQ(result.signal(), SIGKILL);
  EXPECT_THAT(result.message(), HasSubstr("timed out after 300ms"));
}

TEST_F(ExecutorTest, AMissingToolchainIsAFailedPreconditionNamingTheTool) {
  absl::StatusOr<TempDir> empty = TempDir::Create("empty-path-");
  ASSERT_TRUE(empty.ok());
  options_.base_env = {absl::StrCat("PATH=", empty->path().string())};
  Executor executor(options_);
  absl::StatusOr<PreparedRun> run =
      executor.Prepare(Request(v1::RUST, "fn main() {}"));
  EXPECT_EQ(run.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(run.status().message(), HasSubstr("`cargo`"));
}

// The `built` event of a run, if it sent one.
std::optional<v1::BuiltProgram> BuiltEvent(const RecordingSink& sink) {
  for (const v1::ExecuteEvent& event : sink.events) {
    if (event.has_built()) return event.built();
  }
  return std::nullopt;
}

TEST_F(ExecutorTest, ASuccessfulBuildSendsItsOutputWhenAskedBeforeRunning) {
  v1::ExecuteRequest request =
      Request(v1::C, "#include <stdio.h>\nint main(){puts(\"hi\");}");
  request.set_return_build(true);
  v1::Result result = Execute(request);
  EXPECT_EQ(result.status(), v1::DONE);
  std::optional<v1::BuiltProgram> built = BuiltEvent(sink_);
  ASSERT_TRUE(built.has_value());
  ASSERT_EQ(built->files_size(), 1);
  EXPECT_EQ(built->files(0).path(), "main");
  EXPECT_TRUE(built->files(0).executable());
  EXPECT_GT(built->files(0).content().size(), 1000u);  // an ELF program
  // Sent before the run stage starts, so a cancelled run still leaves it.
  size_t built_at = 0, running_at = 0;
  for (size_t i = 0; i < sink_.events.size(); ++i) {
    if (sink_.events[i].has_built()) built_at = i;
    if (sink_.events[i].stage().stage() == v1::RUNNING) running_at = i;
  }
  EXPECT_LT(built_at, running_at);
}

TEST_F(ExecutorTest, NoBuildOutputUnlessAskedOrWhenTheBuildFails) {
  Execute(Request(v1::C, "int main(){return 0;}"));
  EXPECT_FALSE(BuiltEvent(sink_).has_value());
  sink_.events.clear();
  v1::ExecuteRequest broken = Request(v1::C, "int main( {");
  broken.set_return_build(true);
  EXPECT_EQ(Execute(broken).reason(), v1::BUILD_FAILED);
  EXPECT_FALSE(BuiltEvent(sink_).has_value());
}

TEST_F(ExecutorTest, APrebuiltProgramRunsWithoutBuilding) {
  v1::ExecuteRequest first =
      Request(v1::C, "#include <stdio.h>\nint main(){puts(\"from cache\");}");
  first.set_return_build(true);
  Execute(first);
  std::optional<v1::BuiltProgram> built = BuiltEvent(sink_);
  ASSERT_TRUE(built.has_value());
  sink_.events.clear();

  // The code no longer compiles: only a run that skips the build works.
  v1::ExecuteRequest again = Request(v1::C, "not C at all");
  *again.mutable_prebuilt() = *built;
  v1::Result result = Execute(again);
  EXPECT_EQ(result.status(), v1::DONE) << result.message();
  EXPECT_EQ(sink_.Output(v1::RUNNING, v1::STDOUT), "from cache\n");
  EXPECT_EQ(sink_.Output(v1::BUILDING, v1::STDERR), "");
  ASSERT_GE(sink_.events.size(), 2u);
  EXPECT_EQ(sink_.events[1].stage().stage(), v1::BUILDING);
  EXPECT_TRUE(sink_.events[1].stage().cached());
  EXPECT_THAT(sink_.events[1].stage().detail(), HasSubstr("cached build"));
  EXPECT_FALSE(result.timings().has_build());
  EXPECT_TRUE(result.telemetry().build_cached());
  EXPECT_TRUE(WorkRootEmpty());
}

TEST_F(ExecutorTest, TelemetryHasTheProgramsCpuTimePeakMemoryAndOutput) {
  // Touches 64 MiB and spins for a while, printing 6 bytes and 2 to stderr.
  v1::Result result = Execute(Request(
      v1::C,
      "#include <stdio.h>\n#include <stdlib.h>\n#include <string.h>\n"
      "int main(){size_t n=64<<20;volatile char*p=malloc(n);"
      "for(size_t i=0;i<n;i+=512)p[i]=1;"
      "volatile unsigned long x=0;for(unsigned long i=0;i<50000000UL;++i)"
      "x+=i;printf(\"%d done\",p[n-512]);fputs(\"e\\n\",stderr);return 0;}"));
  ASSERT_EQ(result.status(), v1::DONE) << result.message();
  const v1::Telemetry& telemetry = result.telemetry();
  EXPECT_GE(telemetry.peak_memory_bytes(), uint64_t{64} << 20);
  EXPECT_LT(telemetry.peak_memory_bytes(), uint64_t{1} << 30);
  EXPECT_GT(telemetry.cpu_user().seconds() * 1000000000LL +
                telemetry.cpu_user().nanos(),
            10000000);  // > 10 ms of CPU
  EXPECT_EQ(telemetry.stdout_bytes(), 6u);
  EXPECT_EQ(telemetry.stderr_bytes(), 2u);
  EXPECT_FALSE(telemetry.build_cached());
}

TEST_F(ExecutorTest, APrebuiltProgramMustBeThePlansBuildOutputs) {
  Executor executor(options_);
  v1::ExecuteRequest request = Request(v1::C, "int main(){}");
  v1::File* file = request.mutable_prebuilt()->add_files();
  file->set_path("../../etc/passwd");
  EXPECT_THAT(executor.Prepare(request).status().message(),
              HasSubstr("is not a build output"));
  request.mutable_prebuilt()->clear_files();
  EXPECT_THAT(executor.Prepare(request).status().message(),
              HasSubstr("lacks the build output \"main\""));
  file = request.mutable_prebuilt()->add_files();
  file->set_path("main");
  request.mutable_prebuilt()->add_files()->set_path("main");
  EXPECT_THAT(executor.Prepare(request).status().message(),
              HasSubstr("is not a build output"));
}

TEST_F(ExecutorTest, PrepareFillsARunIdAndCapsLimits) {
  options_.max_timeout = absl::Seconds(10);
  options_.output_limit_bytes = 1000;
  v1::ExecuteRequest request = Request(v1::SHELL, "true");
  request.clear_run_id();
  request.mutable_workload()->mutable_timeout()->set_seconds(3600);
  request.mutable_workload()->set_output_limit_bytes(1 << 30);
  absl::StatusOr<PreparedRun> run = Executor(options_).Prepare(request);
  ASSERT_TRUE(run.ok());
  EXPECT_EQ(run->request.run_id().size(), 12u);
  EXPECT_EQ(run->timeout, absl::Seconds(10));
  EXPECT_EQ(run->output_limit_bytes, 1000u);
  request.mutable_workload()->set_output_limit_bytes(10);
  request.mutable_workload()->clear_timeout();
  run = Executor(options_).Prepare(request);
  EXPECT_EQ(run->output_limit_bytes, 10u);
  EXPECT_EQ(run->timeout, options_.default_timeout);
}

// The guest's agent runs as root and gives its workloads a user of their
// own (tests/hardening runs the hostile cases in a real VM).
class RunAsTest : public ExecutorTest {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "switching users needs root";
    ExecutorTest::SetUp();
    // The run's user must be able to reach its dir, as in the guest's /tmp.
    std::filesystem::permissions(root_->path(),
                                 std::filesystem::perms::others_exec,
                                 std::filesystem::perm_options::add);
    options_.run_as = RunAs{65534, 65534};
    options_.max_processes = 16;
  }
};

TEST_F(RunAsTest, TheWorkloadRunsAsThatUserInADirAndHomeItOwns) {
  v1::Result result = Execute(Request(
      v1::SHELL,
      "id -u; echo made >made.txt && cat made.txt; "
      "echo home >\"$HOME/h\" && cat \"$HOME/h\"; "
      "cat /proc/self/oom_score_adj; "
      "awk '/Max processes/ {print $3}' /proc/self/limits"));
  EXPECT_EQ(result.exit_code(), 0)
      << sink_.Output(v1::RUNNING, v1::STDERR);
  EXPECT_EQ(sink_.Output(v1::RUNNING, v1::STDOUT),
            "65534\nmade\nhome\n0\n16\n");
  EXPECT_TRUE(WorkRootEmpty());
}

TEST_F(RunAsTest, AForkBombStopsAtTheProcessLimit) {
  // RLIMIT_NPROC counts every process of the uid on the host: a user of its
  // own keeps this bomb from starving the test above under `ctest -j`.
  options_.run_as = RunAs{65533, 65533};
  v1::Result result = Execute(Request(
      v1::SHELL, "for i in $(seq 32); do sleep 5 & done; echo all forked"));
  EXPECT_NE(result.exit_code(), 0);
  EXPECT_THAT(sink_.Output(v1::RUNNING, v1::STDERR), HasSubstr("fork"));
  EXPECT_EQ(sink_.Output(v1::RUNNING, v1::STDOUT), "");
  EXPECT_TRUE(WorkRootEmpty());
}

}  // namespace
}  // namespace cloudlet::agent
