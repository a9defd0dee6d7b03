// The cloudlet binary as a user runs it, against the real cloudlet-api and
// cloudlet-vmm (tests/e2e chain.h) on the host-agent seam (each run's "VM"
// a real cloudlet-agent process; tests/e2e runs the CLI over microVMs):
// output byte for byte, exit codes, --json/--quiet, args/env/stdin, busy and
// rejecting VMMs, usage errors. Streaming, timeout, config errors and
// Ctrl-C are tests/e2e/run_e2e_test.cc.
#include <signal.h>

#include <atomic>
#include <fstream>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "common/rpc/net.h"
#include "common/process/temp_dir.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/api/http_client.h"
#include "tests/cli/cli_chain_test.h"
#include "tests/cli/cli_process.h"
#include "tests/e2e/chain.h"
#include "tests/support/no_vm_left.h"

namespace cloudlet::testing {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

int Lines(const std::string& text) {
  return static_cast<int>(std::count(text.begin(), text.end(), '\n'));
}

TEST_F(CliRunTest, OutputArrivesByteForByteOnItsStreamAndTheExitCodeIsTheWorkloads) {
  Start();
  CliOutcome run = Cloudlet(
      {"run", "--no-start", "--config-path",
       ShellConfig("printf 'a\\0b'; echo to-stderr >&2; exit 3\n")});
  EXPECT_EQ(run.exit.code, 3) << run.err;
  EXPECT_EQ(run.out, std::string("a\0b", 3));
  // Off a terminal, with the artifacts cached, the CLI adds no line.
  EXPECT_EQ(run.err, "to-stderr\n");
}

TEST_F(CliRunTest, ASecondRunOfUnchangedCodeSaysBuildCachedAndShowsNoCompilerOutput) {
  Start();
  // A warning on every build: compiler output that a cached run must not
  // show again.
  const std::string code =
      "#include <stdio.h>\n#warning compiled-now\n"
      "int main(){puts(\"hello\");return 5;}\n";
  CliOutcome first =
      Cloudlet({"run", "--no-start", "-c", Config("c", "main.c", code)});
  EXPECT_EQ(first.exit.code, 5) << first.err;
  EXPECT_THAT(first.err, HasSubstr("compiled-now"));
  EXPECT_THAT(first.err, ::testing::Not(HasSubstr("build: cached")));

  CliOutcome second =
      Cloudlet({"run", "--no-start", "-c", Config("c", "main.c", code)});
  EXPECT_EQ(second.exit.code, 5) << second.err;
  EXPECT_EQ(second.out, "hello\n");
  EXPECT_EQ(second.err, "cloudlet: build: cached\n");

  CliOutcome rebuilt = Cloudlet(
      {"run", "--no-start", "--rebuild", "-c", Config("c", "main.c", code)});
  EXPECT_EQ(rebuilt.exit.code, 5) << rebuilt.err;
  EXPECT_THAT(rebuilt.err, HasSubstr("compiled-now"));

  // One changed byte builds again.
  CliOutcome changed = Cloudlet(
      {"run", "--no-start", "-c",
       Config("c", "main.c", absl::StrReplaceAll(code, {{"return 5", "return 6"}}))});
  EXPECT_EQ(changed.exit.code, 6) << changed.err;
  EXPECT_THAT(changed.err, HasSubstr("compiled-now"));

  absl::StatusOr<HttpResult> metrics =
      HttpCall("GET", absl::StrCat(chain_->api_url(), "/metrics"), "",
               absl::Seconds(10));
  ASSERT_TRUE(metrics.ok()) << metrics.status();
  const std::string vmm = absl::StrCat("vmm=\"127.0.0.1:", chain_->vmm_port(), "\"");
  EXPECT_THAT(metrics->body,
              HasSubstr(absl::StrCat("cloudlet_build_cache_lookups_total{", vmm,
                                     ",result=\"hit\"} 1")));
  EXPECT_THAT(metrics->body,
              HasSubstr(absl::StrCat("cloudlet_build_cache_lookups_total{", vmm,
                                     ",result=\"miss\"} 2")));
}

TEST_F(CliRunTest, DeployListShowInvokeAndDeleteAFunction) {
  Start();
  const std::string config = Config(
      "c", "main.c",
      "#include <stdio.h>\nint main(int c,char**v){char l[32]=\"\";"
      "fgets(l,32,stdin);printf(\"%s|%s\",c>1?v[1]:\"-\",l);return 3;}\n");
  CliOutcome deployed = Cloudlet({"deploy", "--no-start", "-c", config});
  EXPECT_EQ(deployed.exit.code, 0) << deployed.err;
  EXPECT_THAT(deployed.err, HasSubstr("deployed cli-test version 1"));

  CliOutcome listed = Cloudlet({"functions"});
  EXPECT_EQ(listed.exit.code, 0) << listed.err;
  EXPECT_THAT(listed.out, HasSubstr("cli-test"));
  EXPECT_THAT(listed.out, HasSubstr("ready"));

  std::ofstream(dir_->path() / "in.txt") << "from-file";
  CliOutcome invoked =
      Cloudlet({"invoke", "--no-start", "cli-test", "--stdin",
                (dir_->path() / "in.txt").string(), "--", "arg1"});
  EXPECT_EQ(invoked.exit.code, 3) << invoked.err;
  EXPECT_EQ(invoked.out, "arg1|from-file");
  EXPECT_THAT(invoked.err, HasSubstr("build: cached"));

  CliOutcome json = Cloudlet({"invoke", "--no-start", "cli-test", "--json"});
  EXPECT_EQ(json.exit.code, 3);
  EXPECT_THAT(json.out, HasSubstr("\"result\""));

  CliOutcome shown = Cloudlet({"function", "show", "cli-test"});
  EXPECT_EQ(shown.exit.code, 0) << shown.err;
  EXPECT_THAT(shown.out, HasSubstr("invocations: 2"));
  EXPECT_THAT(shown.out, HasSubstr("build succeeded"));

  EXPECT_EQ(Cloudlet({"function", "delete", "cli-test"}).exit.code, 0);
  CliOutcome gone = Cloudlet({"invoke", "--no-start", "cli-test"});
  EXPECT_EQ(gone.exit.code, 2);
  EXPECT_THAT(gone.err, HasSubstr("no function named cli-test"));
  EXPECT_EQ(Cloudlet({"function", "show", "cli-test"}).exit.code, 2);
}

TEST_F(CliRunTest, ActionPrepareDeploysAndActionRunInvokes) {
  Start();
  CliOutcome not_deployed = Cloudlet(
      {"run", "--no-start", "-c",
       ShellConfig("echo ran \"$1\"\n", "[run]\nargs = [\"x\"]\n")});
  EXPECT_EQ(not_deployed.exit.code, 0);  // prepare-and-run: as always

  auto with_action = [&](const std::string& action) {
    std::ofstream(dir_->path() / "main.sh") << "echo ran \"$1\"\n";
    fs::path config = dir_->path() / "action.toml";
    std::ofstream(config) << "workload-name = \"acted\"\nlanguage = \"shell\"\n"
                          << "action = \"" << action << "\"\n[build]\n"
                          << "source-code-path = \"main.sh\"\n"
                          << "[run]\nargs = [\"y\"]\n";
    return Cloudlet({"run", "--no-start", "-c", config.string()});
  };
  CliOutcome missing = with_action("run");
  EXPECT_EQ(missing.exit.code, 2);
  EXPECT_THAT(missing.err, HasSubstr("no function named acted"));
  CliOutcome prepared = with_action("prepare");
  EXPECT_EQ(prepared.exit.code, 0) << prepared.err;
  EXPECT_EQ(prepared.out, "");  // deployed, not run
  CliOutcome ran = with_action("run");
  EXPECT_EQ(ran.exit.code, 0) << ran.err;
  EXPECT_EQ(ran.out, "ran y\n");
}

TEST_F(CliRunTest, WorkloadKilledBySignalExitsWith128PlusIt) {
  Start();
  CliOutcome run =
      Cloudlet({"run", "--no-start", "-c", ShellConfig("kill -9 $$\n")});
  EXPECT_EQ(run.exit.code, 137) << run.err;
  EXPECT_THAT(run.err, HasSubstr("killed by signal 9"));
}

TEST_F(CliRunTest, ArgsEnvAndStdinReachTheWorkload) {
  Start();
  std::ofstream(dir_->path() / "input.txt") << "from-stdin\n";
  CliOutcome run = Cloudlet(
      {"run", "--no-start", "-c",
       ShellConfig("read line; echo \"$line $1 $2 $GREETING\"\n",
                   "[run]\nargs = [\"a b\", \"c\"]\n"
                   "env = { GREETING = \"hello\" }\n"
                   "stdin-path = \"input.txt\"\n")});
  EXPECT_EQ(run.exit.code, 0) << run.err;
  EXPECT_EQ(run.out, "from-stdin a b c hello\n");
}

TEST_F(CliRunTest, JsonPrintsEachEventAsOneLine) {
  Start();
  CliOutcome run = Cloudlet(
      {"run", "--no-start", "-c", ShellConfig("echo hi; exit 4\n"), "--json"});
  EXPECT_EQ(run.exit.code, 4) << run.err;
  std::vector<std::string> lines =
      absl::StrSplit(run.out, '\n', absl::SkipEmpty());
  ASSERT_GE(lines.size(), 3u) << run.out;
  EXPECT_THAT(lines.front(), HasSubstr("{\"accepted\":"));
  EXPECT_THAT(lines.back(), HasSubstr("{\"result\":"));
  EXPECT_THAT(lines.back(), HasSubstr("\"exit_code\":4"));
  EXPECT_THAT(run.out, HasSubstr("\"data\":\"aGkK\""));  // "hi\n"
}

// The compiler's warning is build output: --quiet drops it (without -q it
// goes to stderr), the program's own stdout and stderr stay.
TEST_F(CliRunTest, QuietPrintsOnlyTheWorkloadsOwnOutput) {
  Start();
  CliOutcome run = Cloudlet(
      {"run", "--no-start", "-q", "-c",
       Config("c", "main.c",
              "#include <stdio.h>\n#warning build-noise\n"
              "int main(void) { puts(\"out\"); fputs(\"err\\n\", stderr); }\n")},
      absl::Minutes(2));
  EXPECT_EQ(run.exit.code, 0) << run.err;
  EXPECT_EQ(run.out, "out\n");
  EXPECT_EQ(run.err, "err\n");
}

// One VM slot and no queue, held by a run over HTTP: the CLI's run is
// refused with 429.
TEST_F(CliRunTest, BusyVmmExitsOneWithTheReasonOnOneLine) {
  Start({"--max_vms=1", "--max_queue=0"});
  std::atomic<bool> holding{false};
  std::atomic<bool> release{false};
  std::thread holder([&] {
    absl::StatusOr<HttpResult> result = HttpCall(
        "POST", chain_->api_url() + "/run",
        absl::StrCat(R"({"workload": {"language": "SHELL", "code": ")",
                     // Ticks, so that the release below is seen at once.
                     Base64("echo started; while :; do sleep 0.2; echo; done"),
                     "\"}}"),
        absl::Seconds(120), [&](const HttpResult& so_far) {
          // "started\n" in base64.
          if (so_far.body.find("c3RhcnRlZAo=") != std::string::npos) {
            holding = true;
          }
          return !release;
        });
    EXPECT_TRUE(result.ok()) << result.status();
  });
  absl::Time deadline = absl::Now() + absl::Seconds(60);
  while (!holding && absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(50));
  }
  if (holding) {
    CliOutcome run =
        Cloudlet({"run", "--no-start", "-c", ShellConfig("echo never\n")});
    EXPECT_EQ(run.exit.code, 1) << run.err;
    EXPECT_THAT(run.err, HasSubstr("cloudlet: the API answered 429"));
    EXPECT_EQ(Lines(run.err), 1) << run.err;
    EXPECT_EQ(run.out, "");
  }
  release = true;
  holder.join();
  ASSERT_TRUE(holding) << "the run holding the only VM slot never started";
}

TEST_F(CliRunTest, RequestTheVmmRejectsExits2WithTheVmmsReason) {
  Start({"--max_memory_mib=1024"});
  CliOutcome run = Cloudlet({"run", "--no-start", "-c",
                             ShellConfig("echo never\n",
                                         "[vm]\nmemory-mib = 2048\n")});
  EXPECT_EQ(run.exit.code, 2) << run.err;
  EXPECT_THAT(run.err, HasSubstr("the API answered 400"));
  EXPECT_THAT(run.err, HasSubstr("vm.memory_mib: 2048 is out of range"));
  EXPECT_TRUE(VmProcessesOf(chain_->vmm_pid()).empty());
}

TEST_F(CliRunTest, ApiUrlFlagWinsOverTheEnvironment) {
  Start();  // the environment points at a live API
  CliOutcome run = Cloudlet({"run", "--no-start", "--api-url",
                             "http://127.0.0.1:1", "-c", ShellConfig("true\n")});
  EXPECT_EQ(run.exit.code, 1);
  EXPECT_THAT(run.err, HasSubstr("http://127.0.0.1:1"));
}

// Without a chain: what the CLI decides before talking to anybody.
class CliOfflineTest : public CliRunTest {
 protected:
  CliOutcome Cloudlet(std::vector<std::string> args,
                      std::vector<std::string> env = {}) {
    CliInvocation call;
    call.args = std::move(args);
    call.env = std::move(env);
    return RunCloudlet(CLOUDLET_CLI_BINARY, call);
  }
};

TEST_F(CliOfflineTest, NoStartFailsWithOneLineWhenNothingListens) {
  absl::StatusOr<uint16_t> port = PickFreeLoopbackPort();
  ASSERT_TRUE(port.ok());
  std::string url = absl::StrCat("http://127.0.0.1:", *port);
  CliOutcome run = Cloudlet({"run", "--no-start", "-c", ShellConfig("true\n")},
                            {absl::StrCat("CLOUDLET_API_URL=", url)});
  EXPECT_EQ(run.exit.code, 1);
  EXPECT_THAT(run.err, HasSubstr(absl::StrCat("nothing answers at ", url)));
  EXPECT_EQ(Lines(run.err), 1) << run.err;
}

TEST_F(CliOfflineTest, UsageErrorsExit2) {
  CliOutcome run = Cloudlet({"run"});
  EXPECT_EQ(run.exit.code, 2);
  EXPECT_THAT(run.err, HasSubstr("cloudlet --help"));
  EXPECT_EQ(Cloudlet({"frobnicate"}).exit.code, 2);
  EXPECT_EQ(Cloudlet({"run", "-c", "x.toml", "--bogus"}).exit.code, 2);
  EXPECT_EQ(Cloudlet({"run", "-c", "x.toml", "--json", "--quiet"}).exit.code,
            2);
}

TEST_F(CliOfflineTest, HelpAndVersion) {
  CliOutcome help = Cloudlet({"--help"});
  EXPECT_EQ(help.exit.code, 0);
  EXPECT_THAT(help.out, HasSubstr("cloudlet run --config-path FILE"));
  CliOutcome version = Cloudlet({"--version"});
  EXPECT_EQ(version.exit.code, 0);
  EXPECT_THAT(version.out, HasSubstr("cloudlet " CLOUDLET_VERSION));
}

}  // namespace
}  // namespace cloudlet::testing
