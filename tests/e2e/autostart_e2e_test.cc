// From nothing: `cloudlet run` starts the real cloudlet-vmm and cloudlet-api
// itself, and `cloudlet shutdown` leaves no Cloudlet process and no qemu.
// State, runtime dir and ports are the test's own, so that it cannot touch
// a Cloudlet the machine's user runs.
#include <signal.h>
#include <sys/wait.h>

#include <filesystem>
#include <fstream>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/rpc/net.h"
#include "common/process/temp_dir.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/cli/cli_process.h"
#include "tests/support/no_vm_left.h"

namespace cloudlet::testing {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

// Live processes running `binary` whose command line mentions `marker`.
std::vector<pid_t> ProcessesOf(const std::string& binary,
                               const std::string& marker) {
  std::vector<pid_t> found;
  std::error_code error;
  for (const auto& entry : fs::directory_iterator("/proc", error)) {
    int pid = 0;
    if (!absl::SimpleAtoi(entry.path().filename().string(), &pid)) continue;
    fs::path exe = fs::read_symlink(entry.path() / "exe", error);
    if (error || exe != fs::path(binary)) continue;
    std::ifstream in(entry.path() / "cmdline");
    std::string cmdline((std::istreambuf_iterator<char>(in)),
                        std::istreambuf_iterator<char>());
    if (cmdline.find(marker) != std::string::npos) found.push_back(pid);
  }
  return found;
}

TEST(AutostartE2eTest, RunStartsEverythingAndShutdownLeavesNothing) {
  absl::StatusOr<TempDir> home = TempDir::Create("cloudlet-autostart-");
  ASSERT_TRUE(home.ok());
  int api_port = *PickFreeLoopbackPort();
  int vmm_port = *PickFreeLoopbackPort();
  std::string url = absl::StrCat("http://127.0.0.1:", api_port);
  std::string vmm_marker = absl::StrCat("127.0.0.1:", vmm_port);
  fs::create_directories(home->path() / "runtime");
  std::ofstream(home->path() / "main.sh") << "echo hello from autostart\n";
  std::ofstream(home->path() / "hello.toml")
      << "language = \"shell\"\n[build]\nsource-code-path = \"main.sh\"\n";

  CliInvocation call;
  call.env = {absl::StrCat("XDG_STATE_HOME=", (home->path() / "state").string()),
              absl::StrCat("XDG_RUNTIME_DIR=",
                           (home->path() / "runtime").string()),
              absl::StrCat("CLOUDLET_VMM_BINARY=", CLOUDLET_VMM_BINARY),
              absl::StrCat("CLOUDLET_API_BINARY=", CLOUDLET_API_BINARY),
              absl::StrCat("CLOUDLET_VMM_ADDRESS=", vmm_marker)};
  call.timeout = absl::Minutes(3);
  call.args = {"run", "--api-url", url, "-c",
               (home->path() / "hello.toml").string()};
  CliOutcome run = RunCloudlet(CLOUDLET_CLI_BINARY, call);
  EXPECT_EQ(run.exit.code, 0) << run.err;
  EXPECT_EQ(run.out, "hello from autostart\n");
  EXPECT_THAT(run.err, HasSubstr("starting cloudlet-vmm and cloudlet-api"));
  EXPECT_EQ(ProcessesOf(CLOUDLET_VMM_BINARY, vmm_marker).size(), 1u);
  EXPECT_EQ(ProcessesOf(CLOUDLET_API_BINARY, vmm_marker).size(), 1u);

  call.args = {"shutdown", "--api-url", url};
  CliOutcome shutdown = RunCloudlet(CLOUDLET_CLI_BINARY, call);
  EXPECT_EQ(shutdown.exit.code, 0) << shutdown.err;

  // This test process is a child subreaper (no_vm_left.h), so the daemons
  // were re-parented to it when `cloudlet run` exited: reap them.
  while (::waitpid(-1, nullptr, WNOHANG) > 0) {
  }
  EXPECT_TRUE(ProcessesOf(CLOUDLET_VMM_BINARY, vmm_marker).empty());
  EXPECT_TRUE(ProcessesOf(CLOUDLET_API_BINARY, vmm_marker).empty());
  EXPECT_TRUE(WaitUntilNoVmLeft(absl::Seconds(2)).empty());
  EXPECT_TRUE(fs::exists(home->path() / "state" / "cloudlet" /
                         absl::StrCat("vmm-", api_port, ".log")));
}

}  // namespace
}  // namespace cloudlet::testing
