// cloudlet-init: the guest's /init (PID 1), run by the kernel from the
// initramfs. It mounts what the guest needs, builds the agent's root over
// the language image, configures the network and runs the agent; when the
// agent exits, or any step fails, it reboots, which with `reboot=t` on the
// kernel command line and QEMU's -no-reboot makes QEMU exit. It never opens
// a shell. The contract (kernel parameters, mounts, the agent's command line
// and environment, the console lines) is in docs/guest.md, "/init".
//
// A compiled /init rather than a shell script: under TCG every process a
// script starts costs ~5 ms, and the script's ~25 of them were ~0.2 s of
// every run's boot.
#include <fcntl.h>
#include <sys/reboot.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "common/process/unique_fd.h"
#include "initramfs/guest_init/boot_params.h"
#include "initramfs/guest_init/errno_error.h"
#include "initramfs/guest_init/mounts.h"
#include "initramfs/guest_init/network.h"

namespace {

namespace guest_init = cloudlet::guest_init;
using guest_init::ErrnoError;

// Where the initramfs keeps the agent (initramfs/build-initramfs.sh).
constexpr char kInitramfsAgent[] = "/cloudlet-agent";
// The language image, when the VMM attached one.
constexpr char kImageDevice[] = "/dev/vda";
// Workloads run as nobody.
constexpr char kRunAs[] = "--run_as=65534:65534";

// One console line, "cloudlet-init: TEXT". The lines are part of the
// contract (docs/guest.md): tests and users read them in a failed run's
// console tail.
void Say(absl::string_view text) {
  std::string line = absl::StrCat("cloudlet-init: ", text, "\n");
  // Best effort: there is nowhere else to report a console that fails.
  [[maybe_unused]] ssize_t written =
      ::write(STDERR_FILENO, line.data(), line.size());
}

// Ends the guest. reboot(2) does not return; if it somehow did, PID 1
// exiting panics the kernel, and panic=-1 reboots it too.
[[noreturn]] void Finish() {
  ::sync();
  ::reboot(RB_AUTOBOOT);
  std::_Exit(1);
}

[[noreturn]] void Fail(const absl::Status& status) {
  Say(absl::StrCat("error: ", status.message()));
  Finish();
}

void FailIfError(const absl::Status& status) {
  if (!status.ok()) Fail(status);
}

// The kernel opens /dev/console (in the cpio) as fds 0-2 before running
// /init; opening it again from the devtmpfs makes sure they are the
// console even if that failed.
void UseConsole() {
  int console = ::open("/dev/console", O_RDWR | O_NOCTTY);
  if (console < 0) return;
  for (int fd = 0; fd <= 2; ++fd) ::dup2(console, fd);
  if (console > 2) ::close(console);
}

// /proc/cmdline is at most a page.
absl::StatusOr<std::string> ReadKernelCommandLine() {
  cloudlet::UniqueFd fd(::open("/proc/cmdline", O_RDONLY | O_CLOEXEC));
  if (!fd) return ErrnoError("cannot open /proc/cmdline");
  std::string text(8192, '\0');
  ssize_t size = ::read(fd.get(), text.data(), text.size());
  if (size < 0) return ErrnoError("cannot read /proc/cmdline");
  text.resize(static_cast<size_t>(size));
  return text;
}

bool Exists(const char* path) {
  struct stat info;
  return ::stat(path, &info) == 0;
}

bool IsBlockDevice(const char* path) {
  struct stat info;
  return ::stat(path, &info) == 0 && S_ISBLK(info.st_mode);
}

absl::Status WriteFile(const char* path, absl::string_view text) {
  cloudlet::UniqueFd fd(::open(path, O_WRONLY | O_CLOEXEC));
  if (!fd || ::write(fd.get(), text.data(), text.size()) !=
                 static_cast<ssize_t>(text.size())) {
    return ErrnoError(absl::StrCat("cannot write ", path));
  }
  return absl::OkStatus();
}

// Starts the agent chrooted into `root`, with only the environment the
// contract names. Returns its pid.
absl::StatusOr<pid_t> StartAgent(const guest_init::AgentRoot& root,
                                 const guest_init::BootParams& params) {
  std::vector<std::string> args = {
      root.agent.string(), absl::StrCat("--listen=0.0.0.0:", params.port),
      absl::StrCat("--log_level=", params.log_level), kRunAs,
      // A VM resumed from a snapshot takes the host's clock and entropy.
      "--accept_host_state"};
  std::vector<std::string> env = {
      "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
      "HOME=/root", "LANG=C.UTF-8"};
  std::vector<char*> argv, envp;
  for (std::string& arg : args) argv.push_back(arg.data());
  argv.push_back(nullptr);
  for (std::string& var : env) envp.push_back(var.data());
  envp.push_back(nullptr);

  pid_t pid = ::fork();
  if (pid < 0) {
    return ErrnoError("cannot start the agent: fork");
  }
  if (pid == 0) {
    if (::chroot(root.root.c_str()) != 0 || ::chdir("/") != 0) {
      Say(absl::StrCat("error: cannot enter ", root.root.string(), ": ",
                       std::strerror(errno)));
      std::_Exit(127);
    }
    ::execve(argv[0], argv.data(), envp.data());
    Say(absl::StrCat("error: cannot run ", argv[0], ": ",
                     std::strerror(errno)));
    std::_Exit(127);
  }
  return pid;
}

// Reaps every process that ends up as PID 1's child (orphans of the
// agent's workloads included) until `agent` exits; returns its exit code,
// or 128 + the signal that killed it, as a shell reports it.
int ReapUntilExit(pid_t agent) {
  for (;;) {
    int status = 0;
    pid_t pid = ::waitpid(-1, &status, 0);
    if (pid < 0) {
      if (errno == EINTR) continue;
      return 127;  // ECHILD: cannot happen while the agent runs
    }
    if (pid != agent) continue;
    if (WIFEXITED(status)) return WEXITSTATUS(status);
    if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  }
}

}  // namespace

int main() {
  // Everything below assumes it is the guest's PID 1 (it mounts over /dev
  // and reboots on any failure): anywhere else it refuses and changes
  // nothing.
  if (::getpid() != 1) {
    Say("error: must run as PID 1, the guest's /init");
    return 2;
  }
  ::umask(022);
  // Early mounts, so that the console and the command line are readable.
  absl::Status dev =
      guest_init::MountFileSystem("devtmpfs", "devtmpfs", "/dev");
  UseConsole();
  FailIfError(dev);
  FailIfError(guest_init::MountFileSystem("proc", "proc", "/proc"));
  FailIfError(guest_init::MountFileSystem("sysfs", "sysfs", "/sys"));

  absl::StatusOr<std::string> cmdline = ReadKernelCommandLine();
  FailIfError(cmdline.status());
  absl::StatusOr<guest_init::BootParams> params =
      guest_init::ParseBootParams(*cmdline);
  FailIfError(params.status());
  if (params->mode == guest_init::BootParams::Mode::kPoweroff) {
    Say("poweroff mode, rebooting");
    Finish();
  }
  if (::access(kInitramfsAgent, X_OK) != 0) {
    Fail(absl::FailedPreconditionError(
        absl::StrCat(kInitramfsAgent, " is missing from the initramfs")));
  }
  if (::sethostname("cloudlet", 8) != 0) {
    Fail(ErrnoError("cannot set the hostname"));
  }

  absl::StatusOr<guest_init::AgentRoot> root;
  if (IsBlockDevice(kImageDevice)) {
    root = guest_init::PrepareOverlayRoot(kImageDevice, kInitramfsAgent);
  } else {
    Say(absl::StrCat("no ", kImageDevice,
                     ", running the agent from the initramfs"));
    root = guest_init::PrepareInitramfsRoot(kInitramfsAgent);
  }
  FailIfError(root.status());

  FailIfError(guest_init::BringUpLoopback());
  if (Exists("/sys/class/net/eth0")) {
    FailIfError(guest_init::ConfigureUserNetworking("eth0"));
  } else {
    Say("no eth0, network not configured");
  }

  // The OOM killer never picks the agent, which inherits this; the agent
  // runs workloads as nobody with the default score, so a workload is
  // always the one killed.
  if (absl::Status protect = WriteFile("/proc/self/oom_score_adj", "-1000");
      !protect.ok()) {
    Fail(absl::InternalError(absl::StrCat(
        "cannot protect the agent from the OOM killer: ", protect.message())));
  }
  Say("agent starting");
  absl::StatusOr<pid_t> agent = StartAgent(*root, *params);
  FailIfError(agent.status());
  int status = ReapUntilExit(*agent);
  Say(absl::StrCat("agent exited with status ", status, ", rebooting"));
  Finish();
}
