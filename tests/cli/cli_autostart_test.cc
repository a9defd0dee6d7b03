// `cloudlet run` starting the real cloudlet-vmm and cloudlet-api itself
// when nothing answers at a loopback URL, and `cloudlet shutdown` stopping
// them: pid files, logs, reuse by the next run, what is left after a
// shutdown or a failed start. State dir, runtime dir and ports are the
// test's own, so it cannot touch a Cloudlet the machine's user runs.
// (A first run from nothing with its output: tests/e2e.)
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>

#include "absl/strings/str_cat.h"
#include "common/rpc/net.h"
#include "common/process/temp_dir.h"
#include "common/process/unique_fd.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/cli/cli_process.h"
#include "tests/support/no_vm_left.h"

namespace cloudlet::testing {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using ::testing::Not;

struct Recorded {
  pid_t pid = 0;
  std::string binary;
};

std::optional<Recorded> ReadPid(const fs::path& file) {
  std::ifstream in(file);
  Recorded recorded;
  if (!(in >> recorded.pid >> recorded.binary)) return std::nullopt;
  return recorded;
}

// Alive and still running `binary` (zombies and reused pids do not count).
bool Running(const Recorded& recorded) {
  std::error_code error;
  fs::path exe =
      fs::read_symlink(absl::StrCat("/proc/", recorded.pid, "/exe"), error);
  return !error && exe == fs::path(recorded.binary);
}

sockaddr_in Loopback(int port) {
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return addr;
}

bool Listening(int port) {
  UniqueFd sock(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_in addr = Loopback(port);
  return ::connect(sock.get(), reinterpret_cast<sockaddr*>(&addr),
                   sizeof(addr)) == 0;
}

// The daemons were re-parented to this process (a child subreaper, see
// no_vm_left.h) when `cloudlet run` exited: reap those that are gone.
void ReapAdoptedDaemons() {
  while (::waitpid(-1, nullptr, WNOHANG) > 0) {
  }
}

class CliAutostartTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<TempDir> home = TempDir::Create("cloudlet-autostart-");
    ASSERT_TRUE(home.ok());
    home_ = std::make_unique<TempDir>(*std::move(home));
    fs::create_directories(home_->path() / "runtime");
    api_port_ = *PickFreeLoopbackPort();
    vmm_port_ = *PickFreeLoopbackPort();
    url_ = absl::StrCat("http://127.0.0.1:", api_port_);
    std::ofstream(home_->path() / "main.sh") << "echo hello\n";
    config_ = (home_->path() / "hello.toml").string();
    std::ofstream(config_) << "language = \"shell\"\n[build]\n"
                              "source-code-path = \"main.sh\"\n";
  }

  void TearDown() override {
    // Whatever a failed test left behind.
    for (const char* name : {"api", "vmm"}) {
      std::optional<Recorded> recorded = ReadPid(PidFile(name));
      if (recorded && Running(*recorded)) ::kill(recorded->pid, SIGKILL);
    }
    ReapAdoptedDaemons();
  }

  fs::path StateDir() const { return home_->path() / "state" / "cloudlet"; }

  fs::path PidFile(absl::string_view daemon) const {
    return StateDir() / absl::StrCat(daemon, "-", api_port_, ".pid");
  }

  CliOutcome Cloudlet(std::vector<std::string> args) {
    CliInvocation call;
    call.args = std::move(args);
    call.env = {
        absl::StrCat("XDG_STATE_HOME=", (home_->path() / "state").string()),
        // The VMM's runtime dir (it cleans stale state there at start).
        absl::StrCat("XDG_RUNTIME_DIR=", (home_->path() / "runtime").string()),
        absl::StrCat("CLOUDLET_VMM_BINARY=", CLOUDLET_VMM_BINARY),
        absl::StrCat("CLOUDLET_API_BINARY=", CLOUDLET_API_BINARY),
        absl::StrCat("CLOUDLET_VMM_ADDRESS=127.0.0.1:", vmm_port_)};
    call.timeout = absl::Minutes(2);
    return RunCloudlet(CLOUDLET_CLI_BINARY, call);
  }

  std::unique_ptr<TempDir> home_;
  int api_port_ = 0;
  int vmm_port_ = 0;
  std::string url_;
  std::string config_;
};

TEST_F(CliAutostartTest, RunStartsTheDaemonsTheNextRunReusesThemShutdownStopsThem) {
  CliOutcome run = Cloudlet({"run", "--api-url", url_, "-c", config_});
  EXPECT_EQ(run.exit.code, 0) << run.err;
  EXPECT_EQ(run.out, "hello\n");
  EXPECT_THAT(run.err, HasSubstr("starting cloudlet-vmm and cloudlet-api"));

  std::optional<Recorded> api = ReadPid(PidFile("api"));
  std::optional<Recorded> vmm = ReadPid(PidFile("vmm"));
  ASSERT_TRUE(api && vmm);
  EXPECT_TRUE(Running(*api));
  EXPECT_TRUE(Running(*vmm));
  EXPECT_TRUE(fs::exists(StateDir() / absl::StrCat("api-", api_port_, ".log")));
  EXPECT_TRUE(fs::exists(StateDir() / absl::StrCat("vmm-", api_port_, ".log")));

  // The next run finds them and starts nothing.
  CliOutcome again = Cloudlet({"run", "--api-url", url_, "-c", config_});
  EXPECT_EQ(again.exit.code, 0) << again.err;
  EXPECT_EQ(again.out, "hello\n");
  EXPECT_THAT(again.err, Not(HasSubstr("starting")));
  EXPECT_EQ(ReadPid(PidFile("vmm"))->pid, vmm->pid);

  CliOutcome shutdown = Cloudlet({"shutdown", "--api-url", url_});
  EXPECT_EQ(shutdown.exit.code, 0) << shutdown.err;
  ReapAdoptedDaemons();
  EXPECT_FALSE(Running(*api));
  EXPECT_FALSE(Running(*vmm));
  EXPECT_FALSE(fs::exists(PidFile("api")));
  EXPECT_FALSE(fs::exists(PidFile("vmm")));
  EXPECT_FALSE(Listening(api_port_));
  EXPECT_FALSE(Listening(vmm_port_));
  EXPECT_TRUE(WaitUntilNoVmLeft(absl::Seconds(2)).empty());
}

TEST_F(CliAutostartTest, NoStartStartsNothing) {
  CliOutcome run =
      Cloudlet({"run", "--no-start", "--api-url", url_, "-c", config_});
  EXPECT_EQ(run.exit.code, 1);
  EXPECT_FALSE(fs::exists(PidFile("api")));
  EXPECT_FALSE(Listening(api_port_));
  EXPECT_FALSE(Listening(vmm_port_));
}

TEST_F(CliAutostartTest, ShutdownWithNothingRunningSucceeds) {
  CliOutcome shutdown = Cloudlet({"shutdown", "--api-url", url_});
  EXPECT_EQ(shutdown.exit.code, 0) << shutdown.err;
  EXPECT_THAT(shutdown.err, HasSubstr("nothing was running"));
}

// The VMM's address is taken by someone else: the real cloudlet-vmm cannot
// listen and exits at start-up.
TEST_F(CliAutostartTest, AVmmFailingAtStartFailsTheRunAndLeavesNothing) {
  UniqueFd squatter(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_in addr = Loopback(vmm_port_);
  ASSERT_EQ(::bind(squatter.get(), reinterpret_cast<sockaddr*>(&addr),
                   sizeof(addr)),
            0);
  ASSERT_EQ(::listen(squatter.get(), 1), 0);

  CliOutcome run = Cloudlet({"run", "--api-url", url_, "-c", config_});
  EXPECT_EQ(run.exit.code, 1);
  EXPECT_THAT(run.err, HasSubstr("cloudlet-vmm exited during start-up"));
  EXPECT_THAT(run.err, HasSubstr(absl::StrCat("vmm-", api_port_, ".log")));
  EXPECT_EQ(run.out, "");
  ReapAdoptedDaemons();
  EXPECT_FALSE(fs::exists(PidFile("api")));
  EXPECT_FALSE(fs::exists(PidFile("vmm")));
  EXPECT_FALSE(Listening(api_port_));
}

}  // namespace
}  // namespace cloudlet::testing
