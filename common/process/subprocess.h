#ifndef CLOUDLET_COMMON_PROCESS_SUBPROCESS_H_
#define CLOUDLET_COMMON_PROCESS_SUBPROCESS_H_

#include <sys/resource.h>
#include <sys/types.h>

#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/string_view.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/sync/cancel.h"
#include "common/process/unique_fd.h"

namespace cloudlet {

// How a process ended: exactly one of `code` (it exited) or `signal` (a
// signal killed it) is meaningful.
struct ExitStatus {
  int code = 0;
  int signal = 0;  // non-zero when killed by a signal

  static ExitStatus FromWaitStatus(int wait_status);
  bool killed_by_signal() const { return signal != 0; }
  bool success() const { return signal == 0 && code == 0; }
  // "exit code 3" or "killed by signal 9 (Killed)".
  std::string ToString() const;
};

// What a reaped process used (wait4): the process itself and the children
// it waited for.
struct ResourceUsage {
  absl::Duration user_cpu;
  absl::Duration system_cpu;
  uint64_t max_rss_bytes = 0;  // the largest resident set among them
};

// kFile: appended to SpawnOptions::output_file (stdout and stderr only).
enum class StdioMode { kInherit, kNull, kPipe, kFile };

struct SpawnOptions {
  // argv[0] is looked up in the PATH of `env` (or of this process when `env`
  // is not given) unless it contains a '/'.
  std::vector<std::string> argv;
  std::filesystem::path cwd;  // empty: this process's working directory
  // The child's whole environment as "KEY=VALUE"; nullopt inherits ours.
  std::optional<std::vector<std::string>> env;
  StdioMode stdin_mode = StdioMode::kNull;
  StdioMode stdout_mode = StdioMode::kPipe;
  StdioMode stderr_mode = StdioMode::kPipe;
  // Send stderr into the stdout pipe (stderr_mode is then ignored).
  bool stderr_to_stdout = false;
  // Where kFile streams go (created 0600 if missing, appended to).
  std::filesystem::path output_file;
  // Resource limits applied in the child before exec.
  std::vector<std::pair<int, rlimit>> rlimits;
  // Written to the child's /proc/self/oom_score_adj before exec (-1000 to
  // 1000); nullopt keeps the inherited value. Lowering it needs privilege.
  std::optional<int> oom_score_adj;
  // Run the child as this user and group, without supplementary groups
  // (switching needs privilege: root). nullopt keeps ours. Limits and
  // oom_score_adj are applied before the switch, cwd is entered after it.
  std::optional<uid_t> uid;
  std::optional<gid_t> gid;
};

// A child process that runs in its own session and process group, and is
// killed with SIGKILL if the thread that spawned it dies (PR_SET_PDEATHSIG:
// Linux ties it to the spawning *thread*, so spawn from a thread that lives
// at least as long as the child is wanted).
//
// Ownership: destroying a ChildProcess kills its whole process group and
// reaps it, so no process and no zombie outlives its owner. When the leader
// exits by itself, Wait() also kills what is left of its group before
// reaping (the leader's zombie keeps the group id from being reused until
// then). Move-only; not thread-safe.
class ChildProcess {
 public:
  // Starts the process. NotFound when the program does not exist or cannot
  // be executed (the message names it); Internal for other failures.
  static absl::StatusOr<ChildProcess> Spawn(const SpawnOptions& options);

  ChildProcess(ChildProcess&& other) noexcept;
  ChildProcess& operator=(ChildProcess&& other) noexcept;
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;
  ~ChildProcess();

  pid_t pid() const { return pid_; }
  // Becomes readable (poll POLLIN) once the leader has exited.
  int pidfd() const { return pidfd_.get(); }
  // The pipe ends; valid only for the streams spawned with kPipe. The caller
  // may Reset() them (e.g. close stdin after writing it).
  UniqueFd& stdin_pipe() { return stdin_; }
  UniqueFd& stdout_pipe() { return stdout_; }
  UniqueFd& stderr_pipe() { return stderr_; }

  // Sends `signal` to the whole process group. A no-op once reaped.
  absl::Status SignalGroup(int signal);
  // True once the leader has exited (it may not be reaped yet).
  bool HasExited() const;
  // Waits up to `timeout` for the leader to exit, then kills the rest of
  // its group and reaps it. DeadlineExceeded if it is still running.
  absl::StatusOr<ExitStatus> WaitFor(absl::Duration timeout);
  // Waits without limit; same clean-up as WaitFor.
  ExitStatus Wait();
  // Kills the whole group with SIGKILL and reaps the leader. Idempotent:
  // after the first reap it returns the recorded status.
  ExitStatus Kill();
  // Set once the leader was reaped (by Wait, WaitFor or Kill).
  const std::optional<ResourceUsage>& resource_usage() const {
    return usage_;
  }

 private:
  ChildProcess() = default;
  ExitStatus KillGroupAndReap();

  pid_t pid_ = -1;
  UniqueFd pidfd_;
  UniqueFd stdin_;
  UniqueFd stdout_;
  UniqueFd stderr_;
  std::optional<ExitStatus> exit_status_;
  std::optional<ResourceUsage> usage_;
};

// The outcome of RunCommand.
struct CommandResult {
  ExitStatus status;
  std::string output;  // stdout and stderr interleaved, capped
};

// Runs a command to completion with stdout and stderr merged, keeping at
// most `output_cap` bytes (the tail). `on_line` (optional) is called with
// each complete output line as it arrives, on the calling thread.
// DeadlineExceeded (and the process group killed) when it runs longer than
// `timeout`. `cancel` is checked at least every CancelToken::kPollInterval;
// once it is cancelled the group gets SIGTERM (so that a script's clean-up traps
// run), SIGKILL if it is still alive `cancel_grace` later, and the result is
// Cancelled.
absl::StatusOr<CommandResult> RunCommand(
    SpawnOptions options, absl::Duration timeout,
    const std::function<void(absl::string_view line)>& on_line = nullptr,
    size_t output_cap = size_t{64} << 10,
    const CancelToken& cancel = {},
    absl::Duration cancel_grace = absl::Seconds(10));

// Resolves `program` the way a shell would in `path_env` (a PATH value).
// Returns it unchanged when it contains '/'. NotFound otherwise.
absl::StatusOr<std::string> FindExecutable(absl::string_view program,
                                           absl::string_view path_env);

}  // namespace cloudlet

#endif  // CLOUDLET_COMMON_PROCESS_SUBPROCESS_H_
