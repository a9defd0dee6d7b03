// QemuProcess with real QEMU (TCG here) and the real kernel and initramfs:
// it starts, its agent answers, and no QEMU outlives its owner.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <filesystem>
#include <memory>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/sync/poll.h"
#include "common/process/subprocess.h"
#include "common/process/temp_dir.h"
#include "common/process/unique_fd.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/no_vm_left.h"
#include "tests/vm/vm_test_env.h"
#include "vmm/vm/agent_client.h"
#include "vmm/vm/agent_ready.h"
#include "vmm/qemu/qemu_process.h"

namespace cloudlet::testing {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

constexpr absl::Duration kBootTimeout = absl::Seconds(90);

class QemuProcessTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<vmm::GuestArtifacts> artifacts = RealArtifacts(v1::SHELL);
    ASSERT_TRUE(artifacts.ok()) << artifacts.status();
    artifacts_ = *artifacts;
    absl::StatusOr<TempDir> runtime = TempDir::Create("cloudlet-vm-test-");
    ASSERT_TRUE(runtime.ok());
    runtime_.emplace(*std::move(runtime));
  }

  // The agent runs from the initramfs: no image, the quickest boot.
  vmm::VmSpec BareSpec() const {
    vmm::VmSpec spec;
    spec.kernel = artifacts_.kernel;
    spec.initramfs = artifacts_.initramfs;
    spec.accel = vmm::DetectAccel();
    spec.name = ::testing::UnitTest::GetInstance()->current_test_info()->name();
    return spec;
  }

  bool RuntimeDirIsEmpty() const {
    return fs::is_empty(runtime_->path());
  }

  vmm::GuestArtifacts artifacts_;
  std::optional<TempDir> runtime_;
};

TEST_F(QemuProcessTest, StartsAndItsAgentAnswersHealth) {
  auto vm = vmm::QemuProcess::Start(BareSpec(), runtime_->path());
  ASSERT_TRUE(vm.ok()) << vm.status();
  EXPECT_TRUE(absl::StartsWith((*vm)->agent_target(), "127.0.0.1:"));
  EXPECT_NE((*vm)->spec().host_port, 0);
  EXPECT_FALSE(RuntimeDirIsEmpty());

  vmm::AgentClient agent((*vm)->agent_target());
  absl::Time start = absl::Now();
  absl::Status healthy = agent.WaitUntilHealthy(
      absl::Now() + kBootTimeout, CancelToken::FromProbe([&] { return (*vm)->Exited(); }));
  ASSERT_TRUE(healthy.ok()) << healthy << "\nconsole:\n"
                            << (*vm)->ConsoleTail(30);
  std::cerr << "agent ready " << absl::FormatDuration(absl::Now() - start)
            << " after QEMU listened\n";
  EXPECT_THAT((*vm)->ConsoleTail(50), HasSubstr("cloudlet-init"));
  EXPECT_THAT((*vm)->ConsoleTail(50),
              HasSubstr("cloudlet-agent: serving on port 5000"));
}

TEST_F(QemuProcessTest, DestroyingItKillsQemuAndRemovesItsRuntimeDir) {
  auto vm = vmm::QemuProcess::Start(BareSpec(), runtime_->path());
  ASSERT_TRUE(vm.ok()) << vm.status();
  pid_t pid = (*vm)->pid();
  ASSERT_FALSE(WaitUntilProcessGone(pid, absl::ZeroDuration()));
  vm->reset();
  EXPECT_TRUE(WaitUntilProcessGone(pid, absl::ZeroDuration()))
      << "qemu " << pid << " outlived its QemuProcess";
  EXPECT_TRUE(RuntimeDirIsEmpty());
}

TEST_F(QemuProcessTest, KillIsIdempotentAndExitedTurnsTrue) {
  auto vm = vmm::QemuProcess::Start(BareSpec(), runtime_->path());
  ASSERT_TRUE(vm.ok()) << vm.status();
  EXPECT_FALSE((*vm)->Exited());
  (*vm)->Kill();
  (*vm)->Kill();
  EXPECT_TRUE((*vm)->Exited());
  EXPECT_TRUE(WaitUntilProcessGone((*vm)->pid(), absl::ZeroDuration()));
}

TEST_F(QemuProcessTest, KillingTheOwnerMidBootLeavesNoQemu) {
  SpawnOptions spawn;
  spawn.argv = {CLOUDLET_VM_BOOT_HELPER, artifacts_.kernel.string(),
                artifacts_.initramfs.string(), runtime_->path().string()};
  spawn.stderr_mode = StdioMode::kInherit;
  auto helper = ChildProcess::Spawn(spawn);
  ASSERT_TRUE(helper.ok()) << helper.status();

  // Read "qemu_pid=N" from the helper (its log lines may come first).
  std::string out;
  char buffer[256];
  size_t at;
  while ((at = out.find("qemu_pid=")) == std::string::npos ||
         out.find('\n', at) == std::string::npos) {
    ssize_t n = ::read(helper->stdout_pipe().get(), buffer, sizeof(buffer));
    ASSERT_GT(n, 0) << "the helper ended before starting QEMU: " << out;
    out.append(buffer, static_cast<size_t>(n));
  }
  int qemu = 0;
  ASSERT_TRUE(absl::SimpleAtoi(
      out.substr(at + 9, out.find('\n', at) - at - 9), &qemu))
      << out;
  ASSERT_FALSE(WaitUntilProcessGone(qemu, absl::ZeroDuration()));

  // SIGKILL the helper alone (QEMU is in its own session and group): the
  // guest is still booting.
  ASSERT_EQ(::kill(helper->pid(), SIGKILL), 0);
  EXPECT_TRUE(WaitUntilProcessGone(qemu, absl::Seconds(2)))
      << "qemu " << qemu << " survived its owner's SIGKILL";
}

TEST_F(QemuProcessTest, WaitingForTheAgentStopsEarlyWhenQemuExits) {
  vmm::VmSpec spec = BareSpec();
  spec.extra_cmdline = "cloudlet.mode=poweroff";  // /init reboots at once
  auto vm = vmm::QemuProcess::Start(spec, runtime_->path());
  ASSERT_TRUE(vm.ok()) << vm.status();
  vmm::AgentClient agent((*vm)->agent_target());
  absl::Time start = absl::Now();
  absl::Status healthy = agent.WaitUntilHealthy(
      absl::Now() + kBootTimeout, CancelToken::FromProbe([&] { return (*vm)->Exited(); }));
  EXPECT_EQ(healthy.code(), absl::StatusCode::kUnavailable) << healthy;
  EXPECT_LT(absl::Now() - start, absl::Seconds(45));
  EXPECT_TRUE((*vm)->Exited());
  EXPECT_THAT((*vm)->ConsoleTail(20), HasSubstr("poweroff mode"));
}

TEST_F(QemuProcessTest, InitRebootsNamingAMalformedKernelParameter) {
  vmm::VmSpec spec = BareSpec();
  spec.extra_cmdline = "cloudlet.port=0";  // a later parameter wins
  auto vm = vmm::QemuProcess::Start(spec, runtime_->path());
  ASSERT_TRUE(vm.ok()) << vm.status();
  vmm::AgentClient agent((*vm)->agent_target());
  absl::Status ready = vmm::WaitForGuestAgent(
      **vm, agent, absl::Now() + kBootTimeout, {});
  EXPECT_EQ(ready.code(), absl::StatusCode::kUnavailable) << ready;
  // The console ends a moment before QEMU is reaped.
  EXPECT_TRUE(PollUntil("QEMU to exit", absl::Now() + absl::Seconds(10),
                        [&] { return (*vm)->Exited(); })
                  .ok());
  EXPECT_THAT((*vm)->ConsoleTail(20),
              HasSubstr("cloudlet-init: error: cloudlet.port must be in "
                        "1..65535, got '0'"));
}

TEST_F(QemuProcessTest, ATakenFixedPortFailsWithQemusMessage) {
  UniqueFd sock(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(sock.get(), reinterpret_cast<sockaddr*>(&addr),
                   sizeof(addr)),
            0);
  ASSERT_EQ(::listen(sock.get(), 1), 0);
  socklen_t len = sizeof(addr);
  ASSERT_EQ(::getsockname(sock.get(), reinterpret_cast<sockaddr*>(&addr),
                          &len),
            0);

  vmm::VmSpec spec = BareSpec();
  spec.host_port = ntohs(addr.sin_port);
  auto vm = vmm::QemuProcess::Start(spec, runtime_->path());
  ASSERT_FALSE(vm.ok());
  EXPECT_EQ(vm.status().code(), absl::StatusCode::kInternal);
  EXPECT_THAT(vm.status().message(), HasSubstr("host forwarding"));
  EXPECT_TRUE(RuntimeDirIsEmpty());
}

TEST_F(QemuProcessTest, TwoVmsGetDifferentPorts) {
  auto a = vmm::QemuProcess::Start(BareSpec(), runtime_->path());
  auto b = vmm::QemuProcess::Start(BareSpec(), runtime_->path());
  ASSERT_TRUE(a.ok()) << a.status();
  ASSERT_TRUE(b.ok()) << b.status();
  EXPECT_NE((*a)->agent_target(), (*b)->agent_target());
}

TEST_F(QemuProcessTest, AMissingKernelIsAFailedPreconditionNamingIt) {
  vmm::VmSpec spec = BareSpec();
  spec.kernel = "/nonexistent/bzImage";
  auto vm = vmm::QemuProcess::Start(spec, runtime_->path());
  EXPECT_EQ(vm.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(vm.status().message(), HasSubstr("/nonexistent/bzImage"));
}

TEST_F(QemuProcessTest, QemuFailingAtStartIsAnErrorWithItsMessage) {
  vmm::VmSpec spec = BareSpec();
  spec.vcpus = 100000;  // QEMU refuses this before the guest runs
  auto vm = vmm::QemuProcess::Start(spec, runtime_->path());
  ASSERT_FALSE(vm.ok());
  EXPECT_EQ(vm.status().code(), absl::StatusCode::kInternal);
  EXPECT_THAT(vm.status().message(), HasSubstr("QEMU did not start"));
  EXPECT_THAT(vm.status().message(), HasSubstr("qemu-system-x86_64:"));
  EXPECT_TRUE(RuntimeDirIsEmpty());
}

}  // namespace
}  // namespace cloudlet::testing
