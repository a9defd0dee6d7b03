// `cloudlet run` starting the API and the VMM itself when nothing answers at
// a loopback URL, and `cloudlet shutdown` stopping them. The VMM here is the
// host-process double (cloudlet-host-vmm); the real pair is tests/e2e.
#include <signal.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <fstream>

#include "absl/strings/str_cat.h"
#include "common/net.h"
#include "common/temp_dir.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/cli/cli_process.h"

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

bool Listening(int port) {
  int sock = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bool connected =
      ::connect(sock, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
  ::close(sock);
  return connected;
}

class CliAutostartTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<TempDir> state = TempDir::Create("cloudlet-state-");
    absl::StatusOr<TempDir> work = TempDir::Create("cloudlet-work-");
    ASSERT_TRUE(state.ok() && work.ok());
    state_ = std::make_unique<TempDir>(*std::move(state));
    work_ = std::make_unique<TempDir>(*std::move(work));
    api_port_ = *PickFreeLoopbackPort();
    vmm_port_ = *PickFreeLoopbackPort();
    url_ = absl::StrCat("http://127.0.0.1:", api_port_);
    std::ofstream(work_->path() / "main.sh") << "echo hello\n";
    config_ = (work_->path() / "hello.toml").string();
    std::ofstream(config_) << "language = \"shell\"\n[build]\n"
                              "source-code-path = \"main.sh\"\n";
  }

  void TearDown() override {
    // Whatever a failed test left behind.
    for (const char* name : {"api", "vmm"}) {
      std::optional<Recorded> recorded = ReadPid(PidFile(name));
      if (recorded && Running(*recorded)) ::kill(recorded->pid, SIGKILL);
    }
  }

  fs::path PidFile(absl::string_view daemon) const {
    return state_->path() / "cloudlet" /
           absl::StrCat(daemon, "-", api_port_, ".pid");
  }

  CliOutcome Cloudlet(std::vector<std::string> args,
                      const std::string& vmm_binary = CLOUDLET_HOST_VMM_BINARY) {
    CliInvocation call;
    call.args = std::move(args);
    call.env = {absl::StrCat("XDG_STATE_HOME=", state_->path().string()),
                absl::StrCat("CLOUDLET_VMM_BINARY=", vmm_binary),
                absl::StrCat("CLOUDLET_API_BINARY=", CLOUDLET_API_BINARY),
                absl::StrCat("CLOUDLET_VMM_ADDRESS=127.0.0.1:", vmm_port_)};
    return RunCloudlet(CLOUDLET_CLI_BINARY, call);
  }

  std::unique_ptr<TempDir> state_;
  std::unique_ptr<TempDir> work_;
  int api_port_ = 0;
  int vmm_port_ = 0;
  std::string url_;
  std::string config_;
};

TEST_F(CliAutostartTest, RunStartsTheDaemonsWhichOutliveIt) {
  CliOutcome run = Cloudlet({"run", "--api-url", url_, "-c", config_});
  EXPECT_EQ(run.exit.code, 0) << run.err;
  EXPECT_EQ(run.out, "hello\n");
  EXPECT_THAT(run.err, HasSubstr("starting cloudlet-vmm and cloudlet-api"));

  std::optional<Recorded> api = ReadPid(PidFile("api"));
  std::optional<Recorded> vmm = ReadPid(PidFile("vmm"));
  ASSERT_TRUE(api && vmm);
  EXPECT_TRUE(Running(*api));
  EXPECT_TRUE(Running(*vmm));
  EXPECT_TRUE(fs::exists(state_->path() / "cloudlet" /
                         absl::StrCat("api-", api_port_, ".log")));
  EXPECT_TRUE(fs::exists(state_->path() / "cloudlet" /
                         absl::StrCat("vmm-", api_port_, ".log")));

  // The next run finds them and starts nothing.
  CliOutcome again = Cloudlet({"run", "--api-url", url_, "-c", config_});
  EXPECT_EQ(again.exit.code, 0) << again.err;
  EXPECT_THAT(again.err, Not(HasSubstr("starting")));

  CliOutcome shutdown = Cloudlet({"shutdown", "--api-url", url_});
  EXPECT_EQ(shutdown.exit.code, 0) << shutdown.err;
  EXPECT_FALSE(Running(*api));
  EXPECT_FALSE(Running(*vmm));
  EXPECT_FALSE(fs::exists(PidFile("api")));
  EXPECT_FALSE(fs::exists(PidFile("vmm")));
  EXPECT_FALSE(Listening(api_port_));
  EXPECT_FALSE(Listening(vmm_port_));
}

TEST_F(CliAutostartTest, NoStartStartsNothing) {
  CliOutcome run =
      Cloudlet({"run", "--no-start", "--api-url", url_, "-c", config_});
  EXPECT_EQ(run.exit.code, 1);
  EXPECT_FALSE(fs::exists(PidFile("api")));
  EXPECT_FALSE(Listening(api_port_));
}

TEST_F(CliAutostartTest, ShutdownWithNothingRunningSucceeds) {
  CliOutcome shutdown = Cloudlet({"shutdown", "--api-url", url_});
  EXPECT_EQ(shutdown.exit.code, 0) << shutdown.err;
  EXPECT_THAT(shutdown.err, HasSubstr("nothing was running"));
}

TEST_F(CliAutostartTest, ADaemonDyingAtStartFailsTheRunAndLeavesNothing) {
  CliOutcome run =
      Cloudlet({"run", "--api-url", url_, "-c", config_}, "/bin/false");
  EXPECT_EQ(run.exit.code, 1);
  EXPECT_THAT(run.err, HasSubstr("cloudlet-vmm exited during start-up"));
  EXPECT_THAT(run.err, HasSubstr(absl::StrCat("vmm-", api_port_, ".log")));
  EXPECT_FALSE(fs::exists(PidFile("api")));
  EXPECT_FALSE(fs::exists(PidFile("vmm")));
  EXPECT_FALSE(Listening(api_port_));
}

}  // namespace
}  // namespace cloudlet::testing
