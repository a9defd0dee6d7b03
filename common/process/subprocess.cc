#include "common/process/subprocess.h"

#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

extern char** environ;

namespace cloudlet {
namespace {

absl::Status ErrnoStatus(absl::string_view what, int err) {
  return absl::InternalError(absl::StrCat(what, ": ", std::strerror(err)));
}

// Both ends close-on-exec; the child dup2()s the end it needs.
absl::StatusOr<std::pair<UniqueFd, UniqueFd>> MakePipe() {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) return ErrnoStatus("pipe2", errno);
  return std::make_pair(UniqueFd(fds[0]), UniqueFd(fds[1]));
}

bool IsExecutableFile(const std::string& path) {
  return ::access(path.c_str(), X_OK) == 0 &&
         !std::filesystem::is_directory(path);
}

absl::string_view PathOf(const std::vector<std::string>& env) {
  for (const std::string& entry : env) {
    if (entry.starts_with("PATH=")) return absl::string_view(entry).substr(5);
  }
  return "";
}

// Everything the forked child needs, prepared before fork so that the child
// only makes async-signal-safe calls.
struct ChildPlan {
  std::string program;
  std::vector<char*> argv;
  std::vector<char*> envp;  // empty: inherit environ
  const char* cwd = nullptr;
  int stdin_fd = -1, stdout_fd = -1, stderr_fd = -1;  // -1: keep ours
  const std::vector<std::pair<int, rlimit>>* rlimits = nullptr;
  std::string oom_score_adj;  // empty: keep the inherited value
  std::optional<uid_t> uid;
  std::optional<gid_t> gid;
  pid_t parent = 0;
  int error_pipe = -1;
};

[[noreturn]] void ChildFail(int error_pipe) {
  int err = errno;
  (void)!::write(error_pipe, &err, sizeof(err));
  ::_exit(127);
}

[[noreturn]] void RunChild(const ChildPlan& plan) {
  // Die with the spawning thread; if it is already gone, do not run at all.
  if (::prctl(PR_SET_PDEATHSIG, SIGKILL) != 0) ChildFail(plan.error_pipe);
  if (::getppid() != plan.parent) ::_exit(127);
  if (::setsid() < 0) ChildFail(plan.error_pipe);
  // Restore what a gRPC or signal-handling parent may have changed.
  sigset_t all;
  ::sigemptyset(&all);
  ::sigprocmask(SIG_SETMASK, &all, nullptr);
  ::signal(SIGPIPE, SIG_DFL);
  if (plan.stdin_fd >= 0 && ::dup2(plan.stdin_fd, 0) < 0) {
    ChildFail(plan.error_pipe);
  }
  if (plan.stdout_fd >= 0 && ::dup2(plan.stdout_fd, 1) < 0) {
    ChildFail(plan.error_pipe);
  }
  if (plan.stderr_fd >= 0 && ::dup2(plan.stderr_fd, 2) < 0) {
    ChildFail(plan.error_pipe);
  }
  for (const auto& [resource, limit] : *plan.rlimits) {
    if (::setrlimit(resource, &limit) != 0) ChildFail(plan.error_pipe);
  }
  if (!plan.oom_score_adj.empty()) {
    int fd = ::open("/proc/self/oom_score_adj", O_WRONLY | O_CLOEXEC);
    if (fd < 0 || ::write(fd, plan.oom_score_adj.data(),
                          plan.oom_score_adj.size()) < 0) {
      ChildFail(plan.error_pipe);
    }
    ::close(fd);
  }
  if (plan.gid || plan.uid) {
    if (::setgroups(0, nullptr) != 0) ChildFail(plan.error_pipe);
    if (plan.gid && ::setgid(*plan.gid) != 0) ChildFail(plan.error_pipe);
    if (plan.uid && ::setuid(*plan.uid) != 0) ChildFail(plan.error_pipe);
    // A change of credentials clears the parent-death signal: set it again.
    if (::prctl(PR_SET_PDEATHSIG, SIGKILL) != 0) ChildFail(plan.error_pipe);
    if (::getppid() != plan.parent) ::_exit(127);
  }
  if (plan.cwd != nullptr && ::chdir(plan.cwd) != 0) {
    ChildFail(plan.error_pipe);
  }
  char* const* envp = plan.envp.empty() ? environ : plan.envp.data();
  ::execve(plan.program.c_str(), plan.argv.data(), envp);
  ChildFail(plan.error_pipe);
}

}  // namespace

ExitStatus ExitStatus::FromWaitStatus(int wait_status) {
  ExitStatus status;
  if (WIFEXITED(wait_status)) {
    status.code = WEXITSTATUS(wait_status);
  } else if (WIFSIGNALED(wait_status)) {
    status.signal = WTERMSIG(wait_status);
    status.code = 128 + status.signal;
  }
  return status;
}

std::string ExitStatus::ToString() const {
  if (signal != 0) {
    return absl::StrCat("killed by signal ", signal, " (", ::strsignal(signal),
                        ")");
  }
  return absl::StrCat("exit code ", code);
}

absl::StatusOr<std::string> FindExecutable(absl::string_view program,
                                           absl::string_view path_env) {
  if (program.empty()) return absl::InvalidArgumentError("empty program name");
  if (program.find('/') != absl::string_view::npos) return std::string(program);
  for (absl::string_view dir : absl::StrSplit(path_env, ':')) {
    if (dir.empty()) continue;
    std::string candidate = absl::StrCat(dir, "/", program);
    if (IsExecutableFile(candidate)) return candidate;
  }
  return absl::NotFoundError(
      absl::StrCat(program, ": command not found in PATH"));
}

absl::StatusOr<ChildProcess> ChildProcess::Spawn(const SpawnOptions& options) {
  if (options.argv.empty()) {
    return absl::InvalidArgumentError("Spawn: empty argv");
  }
  const char* own_path = std::getenv("PATH");
  absl::string_view path_env =
      options.env ? PathOf(*options.env)
                  : absl::string_view(own_path ? own_path : "/usr/bin:/bin");
  absl::StatusOr<std::string> program =
      FindExecutable(options.argv[0], path_env);
  if (!program.ok()) return program.status();

  ChildProcess child;
  ChildPlan plan;
  plan.program = *std::move(program);
  for (const std::string& arg : options.argv) {
    plan.argv.push_back(const_cast<char*>(arg.c_str()));
  }
  plan.argv.push_back(nullptr);
  if (options.env) {
    for (const std::string& entry : *options.env) {
      plan.envp.push_back(const_cast<char*>(entry.c_str()));
    }
    plan.envp.push_back(nullptr);
  }
  std::string cwd = options.cwd.string();
  if (!cwd.empty()) plan.cwd = cwd.c_str();
  plan.rlimits = &options.rlimits;
  if (options.oom_score_adj) {
    plan.oom_score_adj = absl::StrCat(*options.oom_score_adj);
  }
  plan.uid = options.uid;
  plan.gid = options.gid;
  plan.parent = ::getpid();

  // The child's ends of its standard streams, closed in the parent after
  // fork by going out of scope.
  UniqueFd child_stdin, child_stdout, child_stderr, dev_null, output_file;
  auto need_null = [&]() -> absl::Status {
    if (dev_null) return absl::OkStatus();
    dev_null.Reset(::open("/dev/null", O_RDWR | O_CLOEXEC));
    return dev_null ? absl::OkStatus() : ErrnoStatus("open /dev/null", errno);
  };
  auto setup = [&](StdioMode mode, bool is_input, UniqueFd& parent_end,
                   UniqueFd& child_end, int& plan_fd) -> absl::Status {
    switch (mode) {
      case StdioMode::kInherit:
        return absl::OkStatus();
      case StdioMode::kNull:
        if (absl::Status s = need_null(); !s.ok()) return s;
        plan_fd = dev_null.get();
        return absl::OkStatus();
      case StdioMode::kFile:
        if (is_input) {
          return absl::InvalidArgumentError("stdin cannot be kFile");
        }
        if (!output_file) {
          output_file.Reset(::open(options.output_file.c_str(),
                                   O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC,
                                   0600));
          if (!output_file) {
            return ErrnoStatus(
                absl::StrCat("open ", options.output_file.string()), errno);
          }
        }
        plan_fd = output_file.get();
        return absl::OkStatus();
      case StdioMode::kPipe: {
        absl::StatusOr<std::pair<UniqueFd, UniqueFd>> pipe = MakePipe();
        if (!pipe.ok()) return pipe.status();
        parent_end = std::move(is_input ? pipe->second : pipe->first);
        child_end = std::move(is_input ? pipe->first : pipe->second);
        plan_fd = child_end.get();
        return absl::OkStatus();
      }
    }
    return absl::OkStatus();
  };
  if (absl::Status s = setup(options.stdin_mode, true, child.stdin_,
                             child_stdin, plan.stdin_fd);
      !s.ok()) {
    return s;
  }
  if (absl::Status s = setup(options.stdout_mode, false, child.stdout_,
                             child_stdout, plan.stdout_fd);
      !s.ok()) {
    return s;
  }
  if (options.stderr_to_stdout) {
    plan.stderr_fd = plan.stdout_fd;
  } else if (absl::Status s = setup(options.stderr_mode, false, child.stderr_,
                                    child_stderr, plan.stderr_fd);
             !s.ok()) {
    return s;
  }

  absl::StatusOr<std::pair<UniqueFd, UniqueFd>> error_pipe = MakePipe();
  if (!error_pipe.ok()) return error_pipe.status();
  plan.error_pipe = error_pipe->second.get();

  pid_t pid = ::fork();
  if (pid < 0) return ErrnoStatus("fork", errno);
  if (pid == 0) RunChild(plan);

  child.pid_ = pid;
  child.pidfd_.Reset(static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)));
  error_pipe->second.Reset();
  int child_errno = 0;
  ssize_t n;
  do {
    n = ::read(error_pipe->first.get(), &child_errno, sizeof(child_errno));
  } while (n < 0 && errno == EINTR);
  if (n > 0) {
    child.Kill();  // reaps the failed child
    if (child_errno == ENOENT || child_errno == EACCES ||
        child_errno == ENOEXEC) {
      return absl::NotFoundError(absl::StrCat(
          "cannot execute ", plan.program, ": ", std::strerror(child_errno)));
    }
    return ErrnoStatus(absl::StrCat("starting ", plan.program), child_errno);
  }
  if (!child.pidfd_) {
    int err = errno;
    child.Kill();
    return ErrnoStatus("pidfd_open", err);
  }
  return child;
}

ChildProcess::ChildProcess(ChildProcess&& other) noexcept
    : pid_(std::exchange(other.pid_, -1)),
      pidfd_(std::move(other.pidfd_)),
      stdin_(std::move(other.stdin_)),
      stdout_(std::move(other.stdout_)),
      stderr_(std::move(other.stderr_)),
      exit_status_(std::exchange(other.exit_status_, std::nullopt)),
      usage_(std::exchange(other.usage_, std::nullopt)) {}

ChildProcess& ChildProcess::operator=(ChildProcess&& other) noexcept {
  if (this != &other) {
    if (pid_ > 0 && !exit_status_) Kill();
    pid_ = std::exchange(other.pid_, -1);
    pidfd_ = std::move(other.pidfd_);
    stdin_ = std::move(other.stdin_);
    stdout_ = std::move(other.stdout_);
    stderr_ = std::move(other.stderr_);
    exit_status_ = std::exchange(other.exit_status_, std::nullopt);
    usage_ = std::exchange(other.usage_, std::nullopt);
  }
  return *this;
}

ChildProcess::~ChildProcess() {
  if (pid_ > 0 && !exit_status_) Kill();
}

absl::Status ChildProcess::SignalGroup(int signal) {
  if (pid_ <= 0 || exit_status_) return absl::OkStatus();
  if (::kill(-pid_, signal) != 0 && errno != ESRCH) {
    return ErrnoStatus("kill", errno);
  }
  return absl::OkStatus();
}

bool ChildProcess::HasExited() const {
  if (exit_status_) return true;
  pollfd pfd{.fd = pidfd_.get(), .events = POLLIN, .revents = 0};
  return pidfd_ && ::poll(&pfd, 1, 0) > 0;
}

absl::StatusOr<ExitStatus> ChildProcess::WaitFor(absl::Duration timeout) {
  if (exit_status_) return *exit_status_;
  absl::Time deadline = absl::Now() + timeout;
  while (!HasExited()) {
    absl::Duration left = deadline - absl::Now();
    if (left <= absl::ZeroDuration()) {
      return absl::DeadlineExceededError(
          absl::StrCat("process ", pid_, " still running after ",
                       absl::FormatDuration(timeout)));
    }
    pollfd pfd{.fd = pidfd_.get(), .events = POLLIN, .revents = 0};
    int ms = static_cast<int>(
        std::min<int64_t>(absl::ToInt64Milliseconds(left) + 1, 1000));
    ::poll(&pfd, 1, ms);
  }
  return KillGroupAndReap();
}

ExitStatus ChildProcess::Wait() {
  while (true) {
    absl::StatusOr<ExitStatus> status = WaitFor(absl::Hours(1));
    if (status.ok()) return *status;
  }
}

ExitStatus ChildProcess::Kill() {
  if (exit_status_) return *exit_status_;
  if (pid_ > 0) ::kill(-pid_, SIGKILL);
  if (pid_ > 0) ::kill(pid_, SIGKILL);  // in case it never reached setsid()
  return KillGroupAndReap();
}

ExitStatus ChildProcess::KillGroupAndReap() {
  if (exit_status_) return *exit_status_;
  // The leader is dead or dying; its zombie pins the group id, so killing
  // the group here cannot hit an unrelated process.
  ::kill(-pid_, SIGKILL);
  int wait_status = 0;
  struct rusage usage = {};
  pid_t reaped;
  do {
    reaped = ::wait4(pid_, &wait_status, 0, &usage);
  } while (reaped < 0 && errno == EINTR);
  exit_status_ = ExitStatus::FromWaitStatus(wait_status);
  if (reaped == pid_) {
    auto duration = [](const timeval& tv) {
      return absl::Seconds(tv.tv_sec) + absl::Microseconds(tv.tv_usec);
    };
    usage_ = ResourceUsage{duration(usage.ru_utime), duration(usage.ru_stime),
                           static_cast<uint64_t>(usage.ru_maxrss) * 1024};
  }
  pidfd_.Reset();
  return *exit_status_;
}

absl::StatusOr<CommandResult> RunCommand(
    SpawnOptions options, absl::Duration timeout,
    const std::function<void(absl::string_view line)>& on_line,
    size_t output_cap, const CancelToken& cancel,
    absl::Duration cancel_grace) {
  options.stdout_mode = StdioMode::kPipe;
  options.stderr_to_stdout = true;
  absl::StatusOr<ChildProcess> child = ChildProcess::Spawn(options);
  if (!child.ok()) return child.status();

  absl::Time deadline = absl::Now() + timeout;
  std::optional<absl::Time> kill_at;  // set once cancelled
  CommandResult result;
  std::string pending_line;
  char buffer[16 * 1024];
  int out = child->stdout_pipe().get();
  while (true) {
    if (!kill_at && cancel.cancelled()) {
      // SIGTERM first: the command's own clean-up (traps) gets to run.
      (void)child->SignalGroup(SIGTERM);
      kill_at = absl::Now() + cancel_grace;
    }
    if (kill_at && absl::Now() >= *kill_at) break;
    absl::Duration left = (kill_at ? *kill_at : deadline) - absl::Now();
    if (!kill_at && left <= absl::ZeroDuration()) {
      child->Kill();
      return absl::DeadlineExceededError(absl::StrCat(
          options.argv[0], " did not finish within ",
          absl::FormatDuration(timeout), "; output ends: ", result.output));
    }
    pollfd pfd{.fd = out, .events = POLLIN, .revents = 0};
    int64_t max_ms = cancel.can_cancel()
                         ? absl::ToInt64Milliseconds(CancelToken::kPollInterval)
                         : 1000;
    int ms = static_cast<int>(std::clamp<int64_t>(
        absl::ToInt64Milliseconds(left) + 1, 0, max_ms));
    if (::poll(&pfd, 1, ms) <= 0) continue;
    ssize_t n = ::read(out, buffer, sizeof(buffer));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;  // EOF: every writer is gone
    absl::string_view chunk(buffer, static_cast<size_t>(n));
    result.output.append(chunk.data(), chunk.size());
    if (result.output.size() > output_cap) {
      result.output.erase(0, result.output.size() - output_cap);
    }
    if (on_line) {
      pending_line.append(chunk.data(), chunk.size());
      size_t newline;
      while ((newline = pending_line.find('\n')) != std::string::npos) {
        on_line(absl::string_view(pending_line).substr(0, newline));
        pending_line.erase(0, newline + 1);
      }
    }
  }
  if (kill_at) {
    (void)child->WaitFor(std::max(*kill_at - absl::Now(), absl::ZeroDuration()));
    child->Kill();
    return absl::CancelledError(absl::StrCat(
        options.argv[0], " was cancelled; output ends: ", result.output));
  }
  if (on_line && !pending_line.empty()) on_line(pending_line);
  absl::StatusOr<ExitStatus> status =
      child->WaitFor(std::max(deadline - absl::Now(), absl::Seconds(1)));
  if (!status.ok()) {
    child->Kill();
    return status.status();
  }
  result.status = *status;
  return result;
}

}  // namespace cloudlet
