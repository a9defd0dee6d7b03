#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/time/clock.h"
#include "absl/base/thread_annotations.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/mutex.h"
#include "common/rpc/net.h"
#include "common/sync/poll.h"
#include "common/process/subprocess.h"
#include "common/process/temp_dir.h"
#include "common/process/unique_fd.h"
#include "spdlog/spdlog.h"
#include "vmm/qemu/console_buffer.h"
#include "vmm/qemu/qemu_process.h"
#include "common/process/list_directory.h"
#include "common/run_limits.h"

namespace cloudlet::vmm {
namespace {

// Enough for a boot log and a failure's last words; never more.
constexpr size_t kConsoleCapacity = size_t{64} << 10;
constexpr int kPortAttempts = 5;
// QEMU sets up its network before the guest runs: tens of ms normally.
constexpr absl::Duration kStartTimeout = absl::Seconds(20);
// What QEMU 7.x prints when the hostfwd port is taken.
constexpr absl::string_view kHostfwdBindError = "host forwarding rule";

// The inodes of TCP sockets listening on 127.0.0.1:`port`.
std::set<std::string> LoopbackListenerInodes(uint16_t port) {
  std::set<std::string> inodes;
  std::ifstream tcp("/proc/net/tcp");
  std::string line;
  std::getline(tcp, line);  // header
  const std::string local = absl::StrFormat("0100007F:%04X", port);
  while (std::getline(tcp, line)) {
    std::vector<absl::string_view> fields =
        absl::StrSplit(line, ' ', absl::SkipEmpty());
    // sl local rem st tx:rx tr:when retrnsmt uid timeout inode
    if (fields.size() > 9 && fields[1] == local && fields[3] == "0A") {
      inodes.insert(std::string(fields[9]));
    }
  }
  return inodes;
}

// True when process `pid` itself holds a socket listening on the port (not
// just anyone: another process may hold the port we picked).
bool ProcessListensOn(pid_t pid, uint16_t port) {
  std::set<std::string> inodes = LoopbackListenerInodes(port);
  if (inodes.empty()) return false;
  const std::filesystem::path fds = absl::StrCat("/proc/", pid, "/fd");
  absl::StatusOr<std::vector<std::string>> names = ListDirectory(fds);
  if (!names.ok()) return false;
  for (const std::string& fd : *names) {
    std::error_code error;
    std::filesystem::path target = std::filesystem::read_symlink(fds / fd, error);
    if (error) continue;
    std::string link = target.string();
    if (absl::StartsWith(link, "socket:[") &&
        inodes.count(link.substr(8, link.size() - 9)) > 0) {
      return true;
    }
  }
  return false;
}

class QemuProcessImpl : public QemuProcess {
 public:
  QemuProcessImpl(VmSpec spec, std::filesystem::path dir, ChildProcess child,
                  UniqueFd pidfd)
      : spec_(std::move(spec)),
        dir_(std::move(dir)),
        pid_(child.pid()),
        pidfd_(std::move(pidfd)),
        console_(kConsoleCapacity),
        child_(std::move(child)) {
    UniqueFd out = std::move(child_.stdout_pipe());
    UniqueFd err = std::move(child_.stderr_pipe());
    reader_ = std::thread([this, out = std::move(out),
                           err = std::move(err)]() mutable {
      DrainOutput(std::move(out), std::move(err));
      console_.Close();
    });
  }

  ~QemuProcessImpl() override { KillAndDrain(); }  // then runtime_ goes

  // Gives the VM the directory it runs in, removed after QEMU is dead.
  void AdoptRuntimeDir(TempDir dir) { runtime_.emplace(std::move(dir)); }

  // Kills QEMU and waits until all it wrote is in the console buffer.
  void KillAndDrain() {
    Kill();
    // QEMU is dead and reaped, so its pipes reached EOF.
    if (reader_.joinable()) reader_.join();
  }

  std::string agent_target() const override {
    return absl::StrCat("127.0.0.1:", spec_.host_port);
  }
  const VmSpec& spec() const override { return spec_; }
  int pid() const override { return pid_; }
  const std::filesystem::path& dir() const override { return dir_; }

  bool Exited() const override {
    pollfd pfd{.fd = pidfd_.get(), .events = POLLIN, .revents = 0};
    return ::poll(&pfd, 1, 0) > 0;
  }

  std::string ConsoleTail(size_t max_lines) const override {
    return console_.Tail(max_lines);
  }

  absl::Status AwaitConsoleText(absl::string_view text,
                                absl::Time deadline) const override {
    return console_.AwaitText(text, deadline);
  }

  void Kill() override {
    absl::MutexLock lock(&mutex_);
    if (killed_) return;
    killed_ = true;
    ExitStatus status = child_.Kill();
    spdlog::debug("vm={} pid={} event=qemu_reaped status=\"{}\"", spec_.name,
                  pid_, status.ToString());
  }

  const ConsoleBuffer& console() const { return console_; }

 private:
  // Runs on reader_: copies QEMU's stdout (the serial console) and stderr
  // into the console buffer until both close, so QEMU never blocks on them.
  void DrainOutput(UniqueFd out, UniqueFd err) {
    char buffer[8192];
    while (out || err) {
      pollfd fds[2] = {{.fd = out.get(), .events = POLLIN, .revents = 0},
                       {.fd = err.get(), .events = POLLIN, .revents = 0}};
      if (::poll(fds, 2, -1) < 0) {
        if (errno == EINTR) continue;
        return;
      }
      for (int i = 0; i < 2; ++i) {
        if (fds[i].revents == 0) continue;
        UniqueFd& fd = i == 0 ? out : err;
        ssize_t n = ::read(fd.get(), buffer, sizeof(buffer));
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
          fd.Reset();  // poll() ignores the negative fd from now on
          continue;
        }
        console_.Append(absl::string_view(buffer, static_cast<size_t>(n)));
      }
    }
  }

  std::optional<TempDir> runtime_;  // destroyed last
  const VmSpec spec_;
  const std::filesystem::path dir_;
  const pid_t pid_;
  const UniqueFd pidfd_;  // our own, valid after the child is reaped
  ConsoleBuffer console_;
  std::thread reader_;
  absl::Mutex mutex_;
  ChildProcess child_ ABSL_GUARDED_BY(mutex_);
  bool killed_ ABSL_GUARDED_BY(mutex_) = false;
};

}  // namespace

absl::StatusOr<std::unique_ptr<QemuProcess>> QemuProcess::Start(
    VmSpec spec, const std::filesystem::path& runtime_dir) {
  for (const auto& [what, path] :
       {std::pair<const char*, const std::filesystem::path&>{"kernel",
                                                             spec.kernel},
        {"initramfs", spec.initramfs}, {"image", spec.image}}) {
    if (what == std::string("image") && path.empty()) continue;
    std::error_code error;
    if (!std::filesystem::is_regular_file(path, error)) {
      return absl::FailedPreconditionError(
          absl::StrCat("the guest ", what, " is not a file: ", path.string()));
    }
  }
  if (!runtime_dir.empty()) {
    std::error_code error;
    std::filesystem::create_directories(runtime_dir, error);
  }
  absl::StatusOr<TempDir> runtime = TempDir::Create("cloudlet-vm-", runtime_dir);
  if (!runtime.ok()) return runtime.status();

  const bool fixed_port = spec.host_port != 0;
  absl::Status last_error;
  for (int attempt = 1; attempt <= (fixed_port ? 1 : kPortAttempts);
       ++attempt) {
    if (!fixed_port) {
      absl::StatusOr<uint16_t> port = PickFreeLoopbackPort();
      if (!port.ok()) return port.status();
      spec.host_port = *port;
    }
    SpawnOptions options;
    options.argv = QemuCommand(spec);
    options.cwd = runtime->path();
    options.stdin_mode = StdioMode::kNull;
    options.stdout_mode = StdioMode::kPipe;
    options.stderr_mode = StdioMode::kPipe;
    absl::Time start = absl::Now();
    absl::StatusOr<ChildProcess> child = ChildProcess::Spawn(options);
    if (!child.ok()) return child.status();
    UniqueFd pidfd(::fcntl(child->pidfd(), F_DUPFD_CLOEXEC, 0));
    if (!pidfd) {
      return absl::InternalError(
          absl::StrCat("dup pidfd: ", std::strerror(errno)));
    }
    auto vm = std::make_unique<QemuProcessImpl>(spec, runtime->path(),
                                                *std::move(child),
                                                std::move(pidfd));
    spdlog::debug("vm={} pid={} port={} event=qemu_spawned", spec.name,
                  vm->pid(), spec.host_port);

    absl::Status listening = PollUntil(
        "QEMU to listen on its forwarded port", absl::Now() + kStartTimeout,
        [&]() -> absl::StatusOr<bool> {
          if (ProcessListensOn(vm->pid(), spec.host_port)) return true;
          if (vm->Exited()) {
            return absl::UnavailableError("QEMU exited");
          }
          return false;
        },
        absl::Milliseconds(2), absl::Milliseconds(50));
    if (listening.ok()) {
      spdlog::info("event=qemu_started vm={} pid={} port={} accel={} memory_mib={} vcpus={} "
                   "event=qemu_started ms={}",
                   spec.name, vm->pid(), spec.host_port, AccelName(spec.accel),
                   spec.memory_mib, spec.vcpus,
                   absl::ToInt64Milliseconds(absl::Now() - start));
      vm->AdoptRuntimeDir(*std::move(runtime));
      return vm;
    }
    vm->KillAndDrain();
    std::string output = vm->ConsoleTail(kConsoleTailLines);
    bool port_taken = vm->console().Contains(kHostfwdBindError);
    if (port_taken && !fixed_port) {
      spdlog::info("vm={} port={} event=hostfwd_port_taken attempt={}",
                   spec.name, spec.host_port, attempt);
      last_error = absl::UnavailableError(absl::StrCat(
          "QEMU could not bind a loopback port in ", kPortAttempts,
          " attempts; last output:\n", output));
      continue;
    }
    return absl::InternalError(absl::StrCat(
        "QEMU did not start (", listening.message(), "): ", output));
  }
  return last_error;
}

}  // namespace cloudlet::vmm
