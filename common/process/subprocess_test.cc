#include "common/process/subprocess.h"

#include <signal.h>
#include <unistd.h>

#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/process/temp_dir.h"
#include "gtest/gtest.h"

namespace cloudlet {
namespace {

SpawnOptions Shell(std::string script) {
  SpawnOptions options;
  options.argv = {"/bin/sh", "-c", std::move(script)};
  return options;
}

bool ProcessAlive(pid_t pid) { return ::kill(pid, 0) == 0; }

TEST(ChildProcess, ReportsExitCode) {
  absl::StatusOr<ChildProcess> child = ChildProcess::Spawn(Shell("exit 3"));
  ASSERT_TRUE(child.ok()) << child.status();
  ExitStatus status = child->Wait();
  EXPECT_EQ(status.code, 3);
  EXPECT_FALSE(status.killed_by_signal());
  EXPECT_EQ(status.ToString(), "exit code 3");
}

TEST(ChildProcess, StdoutAndStderrCanBeAppendedToOneFile) {
  absl::StatusOr<TempDir> dir = TempDir::Create("subprocess-test-");
  ASSERT_TRUE(dir.ok());
  const std::filesystem::path log = dir->path() / "log";
  std::ofstream(log) << "before\n";
  SpawnOptions options;
  options.argv = {"sh", "-c", "echo out; echo err >&2"};
  options.stdout_mode = StdioMode::kFile;
  options.stderr_mode = StdioMode::kFile;
  options.output_file = log;
  absl::StatusOr<ChildProcess> child = ChildProcess::Spawn(options);
  ASSERT_TRUE(child.ok()) << child.status();
  EXPECT_TRUE(child->Wait().success());
  std::ifstream in(log);
  std::string text((std::istreambuf_iterator<char>(in)),
                   std::istreambuf_iterator<char>());
  EXPECT_EQ(text, "before\nout\nerr\n");
}

TEST(ChildProcess, StdinCannotBeAFile) {
  SpawnOptions options;
  options.argv = {"true"};
  options.stdin_mode = StdioMode::kFile;
  options.output_file = "/dev/null";
  EXPECT_EQ(ChildProcess::Spawn(options).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(ChildProcess, ReportsKillingSignal) {
  absl::StatusOr<ChildProcess> child =
      ChildProcess::Spawn(Shell("kill -SEGV $$"));
  ASSERT_TRUE(child.ok()) << child.status();
  ExitStatus status = child->Wait();
  EXPECT_EQ(status.signal, SIGSEGV);
  EXPECT_TRUE(status.killed_by_signal());
}

TEST(ChildProcess, MissingProgramIsNotFound) {
  SpawnOptions options;
  options.argv = {"cloudlet-no-such-program"};
  absl::StatusOr<ChildProcess> child = ChildProcess::Spawn(options);
  EXPECT_EQ(child.status().code(), absl::StatusCode::kNotFound);
  EXPECT_NE(child.status().message().find("cloudlet-no-such-program"),
            std::string::npos);
}

TEST(ChildProcess, NonExecutableFileIsNotFound) {
  SpawnOptions options;
  options.argv = {"/etc/hostname"};
  EXPECT_EQ(ChildProcess::Spawn(options).status().code(),
            absl::StatusCode::kNotFound);
}

TEST(ChildProcess, RunsInItsOwnProcessGroup) {
  absl::StatusOr<ChildProcess> child = ChildProcess::Spawn(Shell("sleep 30"));
  ASSERT_TRUE(child.ok());
  EXPECT_EQ(::getpgid(child->pid()), child->pid());
}

TEST(ChildProcess, DestructorKillsTheWholeGroup) {
  pid_t background_pid = 0;
  {
    SpawnOptions options = Shell("sleep 60 & echo $!; wait");
    absl::StatusOr<ChildProcess> child = ChildProcess::Spawn(options);
    ASSERT_TRUE(child.ok());
    absl::StatusOr<CommandResult> unused;
    char buffer[64] = {};
    ssize_t n = ::read(child->stdout_pipe().get(), buffer, sizeof(buffer) - 1);
    ASSERT_GT(n, 0);
    ASSERT_TRUE(absl::SimpleAtoi(
        std::string(buffer, static_cast<size_t>(n)).substr(0, n - 1),
        &background_pid));
    EXPECT_TRUE(ProcessAlive(background_pid));
  }
  // The background sleep was in the group; it is gone (SIGKILL is
  // immediate; its parent, our child, is reaped, so init reaps it).
  for (int i = 0; i < 200 && ProcessAlive(background_pid); ++i) {
    usleep(10'000);
  }
  EXPECT_FALSE(ProcessAlive(background_pid));
}

TEST(ChildProcess, WaitKillsLeftoversOfTheGroupWhenLeaderExits) {
  absl::StatusOr<ChildProcess> child =
      ChildProcess::Spawn(Shell("sleep 60 & echo $!"));
  ASSERT_TRUE(child.ok());
  char buffer[64] = {};
  ssize_t n = ::read(child->stdout_pipe().get(), buffer, sizeof(buffer) - 1);
  ASSERT_GT(n, 0);
  pid_t background_pid = 0;
  ASSERT_TRUE(absl::SimpleAtoi(std::string(buffer, n - 1), &background_pid));
  EXPECT_EQ(child->Wait().code, 0);
  for (int i = 0; i < 200 && ProcessAlive(background_pid); ++i) {
    usleep(10'000);
  }
  EXPECT_FALSE(ProcessAlive(background_pid));
}

TEST(ChildProcess, WaitForTimesOutOnARunningProcess) {
  absl::StatusOr<ChildProcess> child = ChildProcess::Spawn(Shell("sleep 30"));
  ASSERT_TRUE(child.ok());
  absl::StatusOr<ExitStatus> status = child->WaitFor(absl::Milliseconds(50));
  EXPECT_EQ(status.status().code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_EQ(child->Kill().signal, SIGKILL);
}

TEST(ChildProcess, UsesGivenEnvironmentAndDirectory) {
  SpawnOptions options = Shell("echo \"$GREETING $(pwd)\"");
  options.env = std::vector<std::string>{"GREETING=hello", "PATH=/usr/bin:/bin"};
  options.cwd = "/usr";
  absl::StatusOr<CommandResult> result =
      RunCommand(options, absl::Seconds(10));
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->output, "hello /usr\n");
}

TEST(ChildProcess, SetsTheOomScoreAdjustment) {
  SpawnOptions options = Shell("cat /proc/self/oom_score_adj");
  options.oom_score_adj = 1000;  // raising it needs no privilege
  absl::StatusOr<CommandResult> result =
      RunCommand(options, absl::Seconds(10));
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->output, "1000\n");
}

TEST(ChildProcess, RunsAsTheGivenUserWithItsLimits) {
  if (::geteuid() != 0) GTEST_SKIP() << "switching users needs root";
  SpawnOptions options = Shell(
      "echo $(id -u) $(id -g) $(id -G); "
      "awk '/Max processes/ {print $3, $4}' /proc/self/limits");
  options.uid = 65534;
  options.gid = 65534;
  options.rlimits = {{RLIMIT_NPROC, rlimit{64, 64}}};
  options.cwd = "/";
  absl::StatusOr<CommandResult> result =
      RunCommand(options, absl::Seconds(10));
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->output, "65534 65534 65534\n64 64\n");
}

TEST(ChildProcess, ADirectoryTheUserCannotEnterFailsTheSpawn) {
  if (::geteuid() != 0) GTEST_SKIP() << "switching users needs root";
  absl::StatusOr<TempDir> dir = TempDir::Create("subprocess-test-");  // 0700
  ASSERT_TRUE(dir.ok());
  SpawnOptions options = Shell("true");
  options.uid = 65534;
  options.gid = 65534;
  options.cwd = dir->path();
  EXPECT_FALSE(ChildProcess::Spawn(options).ok());
}

TEST(RunCommand, MergesStreamsAndCallsBackPerLine) {
  std::vector<std::string> lines;
  absl::StatusOr<CommandResult> result = RunCommand(
      Shell("echo one; echo two >&2; printf three"), absl::Seconds(10),
      [&](absl::string_view line) { lines.emplace_back(line); });
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(lines, (std::vector<std::string>{"one", "two", "three"}));
  EXPECT_TRUE(result->status.success());
}

TEST(RunCommand, KeepsOnlyTheTailBeyondTheCap) {
  absl::StatusOr<CommandResult> result =
      RunCommand(Shell("seq 1 10000"), absl::Seconds(10), nullptr, 10);
  ASSERT_TRUE(result.ok());
  EXPECT_EQ(result->output, "999\n10000\n");
}

TEST(RunCommand, TimesOutAndKillsTheGroup) {
  absl::Time start = absl::Now();
  absl::StatusOr<CommandResult> result =
      RunCommand(Shell("sleep 30"), absl::Milliseconds(200));
  EXPECT_EQ(result.status().code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_LT(absl::Now() - start, absl::Seconds(5));
}

TEST(RunCommand, CancelSendsSigtermSoTheCommandCanCleanUp) {
  absl::Time start = absl::Now();
  std::vector<std::string> lines;
  absl::StatusOr<CommandResult> result = RunCommand(
      Shell("trap 'echo cleaned up; exit 1' TERM; echo started; "
            "sleep 30 & wait"),
      absl::Seconds(30),
      [&](absl::string_view line) { lines.emplace_back(line); }, 64 * 1024,
      CancelToken::FromProbe(
          [&] { return absl::Now() - start > absl::Milliseconds(300); }));
  EXPECT_EQ(result.status().code(), absl::StatusCode::kCancelled);
  EXPECT_LT(absl::Now() - start, absl::Seconds(5));
  EXPECT_EQ(lines, (std::vector<std::string>{"started", "cleaned up"}));
}

TEST(RunCommand, CancelKillsACommandThatIgnoresSigterm) {
  absl::Time start = absl::Now();
  bool ready = false;
  absl::StatusOr<CommandResult> result = RunCommand(
      Shell("trap '' TERM; echo ready; sleep 30"), absl::Seconds(30),
      [&](absl::string_view line) { ready = ready || line == "ready"; }, 1024,
      CancelToken::FromProbe([&] { return ready; }), absl::Milliseconds(300));
  EXPECT_EQ(result.status().code(), absl::StatusCode::kCancelled);
  EXPECT_GE(absl::Now() - start, absl::Milliseconds(300));
  EXPECT_LT(absl::Now() - start, absl::Seconds(5));
}

}  // namespace
}  // namespace cloudlet
