// The cloudlet binary against a real cloudlet-api in front of a HostVmm
// (tests/api/host_vmm.h: shell/python workloads as host processes): exit
// codes, streaming, output modes, config errors and Ctrl-C, in seconds.
// The same with real VMs is tests/e2e.
#include <signal.h>

#include <fstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/temp_dir.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/api/api_process.h"
#include "tests/api/host_vmm.h"
#include "tests/cli/cli_process.h"

namespace cloudlet::testing {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using ::testing::Not;

class CliRunTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<std::unique_ptr<HostVmmServer>> vmm =
        HostVmmServer::Start(0, {});
    ASSERT_TRUE(vmm.ok()) << vmm.status();
    vmm_ = *std::move(vmm);
    absl::StatusOr<std::unique_ptr<ApiProcess>> api =
        ApiProcess::Start(CLOUDLET_API_BINARY, vmm_->address());
    ASSERT_TRUE(api.ok()) << api.status();
    api_ = *std::move(api);
    absl::StatusOr<TempDir> dir = TempDir::Create("cloudlet-cli-test-");
    ASSERT_TRUE(dir.ok());
    dir_ = std::make_unique<TempDir>(*std::move(dir));
  }

  // Writes a shell workload and its config; returns the config's path.
  std::string ShellConfig(const std::string& script,
                          const std::string& extra_toml = "") {
    std::ofstream(dir_->path() / "main.sh") << script;
    return WriteConfig("hello.toml",
                       "workload-name = \"hello\"\nlanguage = \"shell\"\n"
                       "[build]\nsource-code-path = \"main.sh\"\n" +
                           extra_toml);
  }

  std::string WriteConfig(const std::string& name, const std::string& toml) {
    fs::path path = dir_->path() / name;
    std::ofstream(path) << toml;
    return path.string();
  }

  CliOutcome Cloudlet(std::vector<std::string> args,
                      CliInvocation call = {}) {
    call.args = std::move(args);
    call.env.push_back(absl::StrCat("CLOUDLET_API_URL=", api_->url()));
    return RunCloudlet(CLOUDLET_CLI_BINARY, call);
  }

  std::unique_ptr<HostVmmServer> vmm_;
  std::unique_ptr<ApiProcess> api_;
  std::unique_ptr<TempDir> dir_;
};

TEST_F(CliRunTest, ExitCodeIsTheWorkloadsAndStreamsStayApart) {
  CliOutcome run = Cloudlet(
      {"run", "--config-path",
       ShellConfig("echo to-stdout; echo to-stderr >&2; exit 3\n")});
  EXPECT_EQ(run.exit.code, 3) << run.err;
  EXPECT_EQ(run.out, "to-stdout\n");
  EXPECT_EQ(run.err, "to-stderr\n");  // no status lines off a terminal
}

TEST_F(CliRunTest, ExitCodeZeroForASuccessfulRun) {
  CliOutcome run = Cloudlet({"run", "-c", ShellConfig("printf 'a\\0b'\n")});
  EXPECT_EQ(run.exit.code, 0) << run.err;
  EXPECT_EQ(run.out, std::string("a\0b", 3));  // byte for byte
}

TEST_F(CliRunTest, OutputReachesStdoutWhileTheWorkloadRuns) {
  CliOutcome run = Cloudlet(
      {"run", "-c", ShellConfig("echo first; sleep 1; echo second\n")});
  ASSERT_EQ(run.exit.code, 0) << run.err;
  std::optional<absl::Time> first, second;
  for (const auto& [when, piece] : run.out_pieces) {
    if (!first && piece.find("first") != std::string::npos) first = when;
    if (!second && piece.find("second") != std::string::npos) second = when;
  }
  ASSERT_TRUE(first && second) << run.out;
  EXPECT_GE(*second - *first, absl::Milliseconds(800));
}

TEST_F(CliRunTest, TimeoutExitsWith124AndSaysSo) {
  CliOutcome run = Cloudlet(
      {"run", "-c", ShellConfig("sleep 30\n", "[run]\ntimeout = 1\n")});
  EXPECT_EQ(run.exit.code, 124);
  EXPECT_THAT(run.err, HasSubstr("cloudlet: timed out"));
  EXPECT_LT(run.ended - run.started, absl::Seconds(10));
}

TEST_F(CliRunTest, WorkloadKilledBySignalExitsWith128PlusIt) {
  CliOutcome run = Cloudlet({"run", "-c", ShellConfig("kill -9 $$\n")});
  EXPECT_EQ(run.exit.code, 137);
  EXPECT_THAT(run.err, HasSubstr("killed by signal 9"));
}

TEST_F(CliRunTest, ArgsEnvAndStdinReachTheWorkload) {
  std::ofstream(dir_->path() / "input.txt") << "from-stdin\n";
  CliOutcome run = Cloudlet(
      {"run", "-c",
       ShellConfig("read line; echo \"$line $1 $2 $GREETING\"\n",
                   "[run]\nargs = [\"a b\", \"c\"]\n"
                   "env = { GREETING = \"hello\" }\n"
                   "stdin-path = \"input.txt\"\n")});
  EXPECT_EQ(run.exit.code, 0) << run.err;
  EXPECT_EQ(run.out, "from-stdin a b c hello\n");
}

TEST_F(CliRunTest, CtrlCCancelsTheRunAndExits130) {
  absl::Time interrupted;
  CliInvocation call;
  call.on_stdout = [&](const std::string& out, ChildProcess& cli) {
    if (out.find("started") != std::string::npos &&
        interrupted == absl::Time()) {
      interrupted = absl::Now();
      ::kill(cli.pid(), SIGINT);
    }
  };
  CliOutcome run = Cloudlet(
      {"run", "-c", ShellConfig("echo started; sleep 60\n")}, call);
  ASSERT_NE(interrupted, absl::Time()) << run.err;
  EXPECT_EQ(run.exit.code, 130) << run.err;
  EXPECT_LT(run.ended - interrupted, absl::Seconds(1));
  EXPECT_THAT(run.err, HasSubstr("interrupted"));
  EXPECT_TRUE(vmm_->vmm().WaitForCancelled(1, interrupted + absl::Seconds(1)))
      << "the run was not cancelled within 1 s of Ctrl-C";
}

TEST_F(CliRunTest, JsonPrintsEachEventAsOneLine) {
  CliOutcome run =
      Cloudlet({"run", "-c", ShellConfig("echo hi; exit 4\n"), "--json"});
  EXPECT_EQ(run.exit.code, 4);
  std::vector<std::string> lines = absl::StrSplit(run.out, '\n',
                                                  absl::SkipEmpty());
  ASSERT_GE(lines.size(), 3u);
  EXPECT_THAT(lines.front(), HasSubstr("{\"accepted\":"));
  EXPECT_THAT(lines.back(), HasSubstr("{\"result\":"));
  EXPECT_THAT(lines.back(), HasSubstr("\"exit_code\":4"));
  EXPECT_THAT(run.out, HasSubstr("\"data\":\"aGkK\""));  // "hi\n"
}

TEST_F(CliRunTest, QuietPrintsOnlyTheWorkloadsOutput) {
  CliOutcome run = Cloudlet(
      {"run", "-q", "-c", ShellConfig("echo out; echo err >&2\n")});
  EXPECT_EQ(run.exit.code, 0);
  EXPECT_EQ(run.out, "out\n");
  EXPECT_EQ(run.err, "err\n");
}

TEST_F(CliRunTest, ConfigErrorsExit2WithFileAndLineAndStartNothing) {
  std::ofstream(dir_->path() / "main.sh") << "echo never\n";
  struct Case {
    std::string toml;
    std::string expected;
  } cases[] = {
      {"language = \"shell\"\n[build\n", "bad.toml:2: invalid TOML"},
      {"workload-name = \"x\"\nlanguage = \"go\"\n[build]\n"
       "source-code-path = \"main.sh\"\n",
       "bad.toml:2: language: unknown value \"go\"; expected one of rust, "
       "python, node, c, cpp, shell"},
      {"language = \"shell\"\n[build]\nsource-code-path = \"absent.sh\"\n",
       "bad.toml:3: build.source-code-path: no such file: "},
  };
  for (const Case& c : cases) {
    CliOutcome run = Cloudlet({"run", "-c", WriteConfig("bad.toml", c.toml)});
    EXPECT_EQ(run.exit.code, 2) << c.toml;
    EXPECT_THAT(run.err, HasSubstr(c.expected));
    EXPECT_EQ(run.out, "");
  }
  EXPECT_EQ(vmm_->vmm().runs_started(), 0);
}

TEST_F(CliRunTest, UsageErrorsExit2) {
  CliOutcome run = Cloudlet({"run"});
  EXPECT_EQ(run.exit.code, 2);
  EXPECT_THAT(run.err, HasSubstr("cloudlet --help"));
  EXPECT_EQ(Cloudlet({"frobnicate"}).exit.code, 2);
  EXPECT_EQ(Cloudlet({"run", "-c", "x.toml", "--bogus"}).exit.code, 2);
}

TEST_F(CliRunTest, HelpAndVersion) {
  CliOutcome help = Cloudlet({"--help"});
  EXPECT_EQ(help.exit.code, 0);
  EXPECT_THAT(help.out, HasSubstr("cloudlet run --config-path FILE"));
  CliOutcome version = Cloudlet({"--version"});
  EXPECT_EQ(version.exit.code, 0);
  EXPECT_THAT(version.out, HasSubstr("cloudlet " CLOUDLET_VERSION));
}

TEST_F(CliRunTest, BusyVmmExitsOneWithTheReason) {
  CliOutcome run = Cloudlet(
      {"run", "-c",
       ShellConfig("true\n",
                   "[run]\nenv = { HOST_VMM_FAIL = \"RESOURCE_EXHAUSTED\" }\n")});
  EXPECT_EQ(run.exit.code, 1);
  EXPECT_THAT(run.err, HasSubstr("cloudlet: the API answered 429"));
  EXPECT_EQ(std::count(run.err.begin(), run.err.end(), '\n'), 1) << run.err;
}

TEST_F(CliRunTest, RequestTheVmmRejectsExits2) {
  std::ofstream(dir_->path() / "main.js") << "console.log(1)\n";
  CliOutcome run = Cloudlet(
      {"run", "-c",
       WriteConfig("node.toml", "language = \"node\"\n[build]\n"
                                "source-code-path = \"main.js\"\n")});
  EXPECT_EQ(run.exit.code, 2);
  EXPECT_THAT(run.err, HasSubstr("the API answered 400"));
}

TEST_F(CliRunTest, NoStartFailsWithOneLineWhenNothingListens) {
  std::string config = ShellConfig("true\n");
  std::string url = api_->url();
  api_.reset();  // nothing listens there any more
  CliOutcome run =
      RunCloudlet(CLOUDLET_CLI_BINARY,
                  {.args = {"run", "--no-start", "-c", config},
                   .env = {absl::StrCat("CLOUDLET_API_URL=", url)}});
  EXPECT_EQ(run.exit.code, 1);
  EXPECT_THAT(run.err, HasSubstr("nothing answers at http://127.0.0.1:"));
  EXPECT_EQ(std::count(run.err.begin(), run.err.end(), '\n'), 1) << run.err;
}

TEST_F(CliRunTest, ApiUrlFlagWinsOverTheEnvironment) {
  CliOutcome run = Cloudlet({"run", "--no-start", "--api-url",
                             "http://127.0.0.1:1", "-c", ShellConfig("true\n")});
  EXPECT_EQ(run.exit.code, 1);
  EXPECT_THAT(run.err, HasSubstr("http://127.0.0.1:1"));
}

}  // namespace
}  // namespace cloudlet::testing
