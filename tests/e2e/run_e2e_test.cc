// `cloudlet run` through the real chain: streaming at the terminal, exit
// codes, config errors, Ctrl-C. Workloads are shell and C, the cheap ones
// under TCG.
#include <signal.h>

#include <fstream>
#include <iostream>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "common/process/temp_dir.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/api/http_client.h"
#include "tests/cli/cli_process.h"
#include "tests/e2e/chain.h"
#include "tests/support/no_vm_left.h"

namespace cloudlet::testing {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

class RunE2eTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<std::unique_ptr<Chain>> chain = Chain::Start({});
    ASSERT_TRUE(chain.ok()) << chain.status();
    chain_ = *std::move(chain);
    absl::StatusOr<TempDir> dir = TempDir::Create("cloudlet-e2e-configs-");
    ASSERT_TRUE(dir.ok());
    dir_ = std::make_unique<TempDir>(*std::move(dir));
  }

  // A config for `source` in `language`, with `extra` TOML appended.
  std::string Config(const std::string& language, const std::string& file,
                     const std::string& source, const std::string& extra = "") {
    std::ofstream(dir_->path() / file) << source;
    fs::path config = dir_->path() / "work.toml";
    std::ofstream(config) << "language = \"" << language << "\"\n[build]\n"
                          << "source-code-path = \"" << file << "\"\n"
                          << extra;
    return config.string();
  }

  CliOutcome Cloudlet(const std::string& config, CliInvocation call = {}) {
    call.args = {"run", "--no-start", "-c", config};
    call.env = CliEnvFor(*chain_);
    return RunCloudlet(CLOUDLET_CLI_BINARY, call);
  }

  std::unique_ptr<Chain> chain_;
  std::unique_ptr<TempDir> dir_;
};

TEST_F(RunE2eTest, ALineReachesStdoutWhileTheNextIsNotYetPrinted) {
  CliOutcome run =
      Cloudlet(Config("shell", "main.sh", "echo one; sleep 1; echo two\n"));
  ASSERT_EQ(run.exit.code, 0) << run.err;
  EXPECT_EQ(run.out, "one\ntwo\n");
  std::optional<absl::Time> one, two;
  for (const auto& [when, piece] : run.out_pieces) {
    if (!one && piece.find("one") != std::string::npos) one = when;
    if (!two && piece.find("two") != std::string::npos) two = when;
  }
  ASSERT_TRUE(one && two);
  EXPECT_GE(*two - *one, absl::Milliseconds(800));
  std::cout << absl::StrFormat(
      "e2e shell first_output=%.2fs wall=%.2fs\n",
      absl::ToDoubleSeconds(*one - run.started),
      absl::ToDoubleSeconds(run.ended - run.started));
}

// VMs resume from one snapshot (cloudlet-vmm --vm_snapshots, on by
// default): each must still get its own randomness and the host's clock.
TEST_F(RunE2eTest, EachVmDrawsItsOwnRandomNumbersAndReadsTheHostsClock) {
  const std::string config = Config(
      "shell", "main.sh", "cat /proc/sys/kernel/random/uuid; date +%s\n");
  std::set<std::string> uuids;
  for (int run = 0; run < 3; ++run) {
    CliOutcome outcome = Cloudlet(config);
    ASSERT_EQ(outcome.exit.code, 0) << outcome.err;
    std::vector<std::string> lines =
        absl::StrSplit(outcome.out, '\n', absl::SkipEmpty());
    ASSERT_EQ(lines.size(), 2u) << outcome.out;
    uuids.insert(lines[0]);
    int64_t guest_seconds = 0;
    ASSERT_TRUE(absl::SimpleAtoi(lines[1], &guest_seconds)) << lines[1];
    EXPECT_NEAR(guest_seconds, absl::ToUnixSeconds(outcome.ended), 2)
        << "the guest's clock is not the host's";
  }
  EXPECT_EQ(uuids.size(), 3u) << "two VMs drew the same random numbers";
}

TEST(RunE2eBootTest, RunsInABootedVmWithSnapshotsOff) {
  absl::StatusOr<std::unique_ptr<Chain>> chain =
      Chain::Start({.vmm_flags = {"--vm_snapshots=false"}, .api_flags = {}});
  ASSERT_TRUE(chain.ok()) << chain.status();
  absl::StatusOr<TempDir> dir = TempDir::Create("cloudlet-e2e-configs-");
  ASSERT_TRUE(dir.ok());
  std::ofstream(dir->path() / "main.sh") << "echo booted\n";
  std::ofstream(dir->path() / "work.toml")
      << "language = \"shell\"\n[build]\nsource-code-path = \"main.sh\"\n";
  CliInvocation call;
  call.args = {"run", "--no-start", "-c", (dir->path() / "work.toml").string()};
  call.env = CliEnvFor(**chain);
  CliOutcome run = RunCloudlet(CLOUDLET_CLI_BINARY, call);
  EXPECT_EQ(run.exit.code, 0) << run.err;
  EXPECT_EQ(run.out, "booted\n");
}

// The build cache with real microVMs: the second run of the rust example
// gets its program sent into a VM resumed from the rust snapshot, shows no
// compiler output, and the VMM counts a hit.
TEST_F(RunE2eTest, TheRustExampleRunTwiceBuildsOnce) {
  const std::string fibonacci =
      (fs::path(CLOUDLET_SOURCE_DIR) / "configs/rust/fibonacci.toml").string();
  CliOutcome first = Cloudlet(fibonacci);
  ASSERT_EQ(first.exit.code, 0) << first.err;
  EXPECT_THAT(first.err, HasSubstr("Compiling fibonacci"));

  CliOutcome second = Cloudlet(fibonacci);
  ASSERT_EQ(second.exit.code, 0) << second.err;
  EXPECT_EQ(second.out, first.out);
  EXPECT_EQ(second.err, "cloudlet: build: cached\n");

  absl::StatusOr<HttpResult> metrics = HttpCall(
      "GET", absl::StrCat(chain_->api_url(), "/metrics"), "", absl::Seconds(10));
  ASSERT_TRUE(metrics.ok()) << metrics.status();
  EXPECT_THAT(metrics->body,
              HasSubstr(absl::StrCat(
                  "cloudlet_build_cache_lookups_total{vmm=\"127.0.0.1:",
                  chain_->vmm_port(), "\",result=\"hit\"} 1")));
}

TEST_F(RunE2eTest, TwoRunsNeedingTheSameNewImageVariantBuildItOnce) {
  // The python project example needs numpy, which the python image lacks:
  // the variant "python + python3-numpy" is built by whichever run gets
  // there first while the other waits for it. (This test runs before the
  // examples, so on a cold cache the variant is new here; on a warm one
  // both find it.)
  const std::string stats =
      (fs::path(CLOUDLET_SOURCE_DIR) / "configs/python/stats.toml").string();
  CliInvocation call;
  call.timeout = absl::Minutes(10);  // the variant's build: 1-2 min
  CliOutcome runs[2];
  std::thread second([&] { runs[1] = Cloudlet(stats, call); });
  runs[0] = Cloudlet(stats, call);
  second.join();
  const std::string building =
      "image/python + python3-numpy: building (";
  int builds = 0;
  for (const CliOutcome& run : runs) {
    EXPECT_EQ(run.exit.code, 0) << run.err;
    EXPECT_THAT(run.out, HasSubstr("squares: mean 7.50, std 5.68\n"))
        << run.err;
    for (size_t at = run.err.find(building); at != std::string::npos;
         at = run.err.find(building, at + 1)) {
      ++builds;
    }
  }
  EXPECT_LE(builds, 1) << runs[0].err << runs[1].err;
}

TEST_F(RunE2eTest, ExitCodeIsTheWorkloads) {
  CliOutcome run =
      Cloudlet(Config("shell", "main.sh", "echo out; echo err >&2; exit 3\n"));
  EXPECT_EQ(run.exit.code, 3) << run.err;
  EXPECT_EQ(run.out, "out\n");
  EXPECT_THAT(run.err, HasSubstr("err\n"));
}

TEST_F(RunE2eTest, CompileErrorExitsNonZeroWithTheCompilersMessage) {
  CliOutcome run = Cloudlet(
      Config("c", "main.c", "int main(void) { return undeclared_name; }\n"));
  EXPECT_NE(run.exit.code, 0);
  EXPECT_NE(run.exit.code, 2);  // not a usage error
  EXPECT_THAT(run.err, HasSubstr("undeclared_name"));
  EXPECT_THAT(run.err, HasSubstr("cloudlet: build failed"));
  EXPECT_EQ(run.out, "");
}

TEST_F(RunE2eTest, TimeoutExitsWith124) {
  CliOutcome run = Cloudlet(Config("shell", "main.sh",
                                   "echo waiting; sleep 60\n",
                                   "[run]\ntimeout = 2\n"));
  EXPECT_EQ(run.exit.code, 124) << run.err;
  EXPECT_EQ(run.out, "waiting\n");
  EXPECT_THAT(run.err, HasSubstr("cloudlet: timed out"));
}

TEST_F(RunE2eTest, ConfigErrorsExit2WithFileAndLineBeforeAnyVm) {
  struct Case {
    std::string toml;
    std::string expected;
  } cases[] = {
      {"language = \"shell\"\n[build\n", "bad.toml:2: invalid TOML"},
      {"language = \"go\"\n[build]\nsource-code-path = \"main.sh\"\n",
       "bad.toml:1: language: unknown value \"go\"; expected one of rust, "
       "python, node, c, cpp, shell"},
      {"language = \"shell\"\n[build]\nsource-code-path = \"absent.sh\"\n",
       "bad.toml:3: build.source-code-path: no such file"},
  };
  std::ofstream(dir_->path() / "main.sh") << "echo never\n";
  for (const Case& c : cases) {
    fs::path config = dir_->path() / "bad.toml";
    std::ofstream(config) << c.toml;
    CliOutcome run = Cloudlet(config.string());
    EXPECT_EQ(run.exit.code, 2) << c.toml;
    EXPECT_THAT(run.err, HasSubstr(c.expected));
    EXPECT_LT(run.ended - run.started, absl::Seconds(1));
    EXPECT_TRUE(VmProcessesOf(::getpid()).empty()) << "a VM was started";
  }
}

TEST_F(RunE2eTest, CtrlCCancelsTheRunExits130AndLeavesNoQemu) {
  absl::Time interrupted;
  CliInvocation call;
  call.on_stdout = [&](const std::string& out, ChildProcess& cli) {
    if (interrupted == absl::Time() &&
        out.find("started") != std::string::npos) {
      interrupted = absl::Now();
      ::kill(cli.pid(), SIGINT);
    }
  };
  CliOutcome run = Cloudlet(
      Config("shell", "main.sh", "echo started; sleep 60\n"), call);
  ASSERT_NE(interrupted, absl::Time()) << run.err;
  EXPECT_EQ(run.exit.code, 130) << run.err;
  EXPECT_LT(run.ended - interrupted, absl::Seconds(1));
  absl::Duration left = std::max(interrupted + absl::Seconds(2) - absl::Now(),
                                 absl::Milliseconds(10));
  EXPECT_TRUE(WaitUntilNoVmLeft(left).empty())
      << "a qemu process outlived Ctrl-C by 2 s";
}

}  // namespace
}  // namespace cloudlet::testing
