#include "agent/execution/stage_runner.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "spdlog/spdlog.h"

namespace cloudlet::agent {
namespace {

// One read's worth; each read becomes one OutputChunk.
constexpr size_t kReadSize = size_t{64} << 10;
// How often ReceiverGone() and the deadline are checked while nothing else
// happens: bounds how late a cancel is noticed.
constexpr absl::Duration kTick = absl::Milliseconds(50);
// After the group is dead, how long to keep reading pipes that a process
// which left the group (setsid) may still hold open.
constexpr absl::Duration kDrainLimit = absl::Seconds(1);

absl::Status SetNonBlocking(const UniqueFd& fd) {
  if (!fd) return absl::OkStatus();
  int flags = ::fcntl(fd.get(), F_GETFL);
  if (flags < 0 || ::fcntl(fd.get(), F_SETFL, flags | O_NONBLOCK) < 0) {
    return absl::InternalError(
        absl::StrCat("fcntl(O_NONBLOCK): ", std::strerror(errno)));
  }
  return absl::OkStatus();
}

int PollTimeoutMs(absl::Time now, std::initializer_list<absl::Time> wakeups) {
  absl::Duration wait = kTick;
  for (absl::Time t : wakeups) wait = std::min(wait, t - now);
  wait = std::max(wait, absl::ZeroDuration());
  return static_cast<int>(
      absl::ToInt64Milliseconds(absl::Ceil(wait, absl::Milliseconds(1))));
}

// The poll loop of one process. Everything happens on the calling thread.
class StagePump {
 public:
  StagePump(const StageSpec& spec, absl::Time deadline, RunControl& control,
            OutputBudget& budget, EventSink& sink, ChildProcess child)
      : spec_(spec),
        deadline_(deadline),
        control_(control),
        budget_(budget),
        sink_(sink),
        child_(std::move(child)),
        stdin_left_(spec.stdin_data) {}

  StageOutcome Run() {
    absl::Time started = absl::Now();
    while (true) {
      absl::Time now = absl::Now();
      if (reaped_ && (!child_.stdout_pipe() && !child_.stderr_pipe())) break;
      if (reaped_ && now >= drain_deadline_) break;
      if (!reaped_) CheckLimits(now);
      if (!reaped_ && child_.HasExited()) {
        LeaderExited();
        continue;
      }
      PollOnce(now);
    }
    outcome_.elapsed = absl::Now() - started;
    return outcome_;
  }

 private:
  // Deadline, stop requests and the receiver, checked every tick.
  void CheckLimits(absl::Time now) {
    for (int signal : control_.TakePendingSignals()) {
      if (outcome_.end == StageEnd::kExited) outcome_.end = StageEnd::kStopped;
      if (signal == SIGKILL) {
        KillGroup(StageEnd::kStopped);
        return;
      }
      (void)child_.SignalGroup(signal);
      kill_at_ = std::min(kill_at_, now + kStopGrace);
    }
    if (now >= kill_at_) {
      KillGroup(StageEnd::kStopped);
    } else if (now >= deadline_) {
      KillGroup(StageEnd::kTimedOut);
    } else if (sink_.ReceiverGone()) {
      KillGroup(StageEnd::kReceiverGone);
    }
  }

  // Kills the group at once and reaps the leader; output still in the
  // pipes is drained (and dropped unless the stage ended normally).
  void KillGroup(StageEnd why) {
    if (outcome_.end == StageEnd::kExited) outcome_.end = why;
    if (reaped_) return;
    outcome_.status = child_.Kill();
    Reaped();
  }

  void LeaderExited() {
    // Also kills what is left of the group: background processes of the
    // workload do not outlive it.
    absl::StatusOr<ExitStatus> status = child_.WaitFor(absl::ZeroDuration());
    outcome_.status = status.ok() ? *status : child_.Kill();
    Reaped();
  }

  void Reaped() {
    reaped_ = true;
    outcome_.usage = child_.resource_usage();
    drain_deadline_ = absl::Now() + kDrainLimit;
    child_.stdin_pipe().Reset();
  }

  // Whether output still goes to the sink: not after the cut, and not
  // when nobody receives it.
  bool Streaming() const {
    return outcome_.end != StageEnd::kOutputLimit &&
           outcome_.end != StageEnd::kReceiverGone;
  }

  void PollOnce(absl::Time now) {
    std::vector<pollfd> fds;
    auto add = [&](int fd, short events) {
      fds.push_back(pollfd{.fd = fd, .events = events, .revents = 0});
      return fds.size() - 1;
    };
    constexpr size_t kNone = static_cast<size_t>(-1);
    size_t out =
        child_.stdout_pipe() ? add(child_.stdout_pipe().get(), POLLIN) : kNone;
    size_t err =
        child_.stderr_pipe() ? add(child_.stderr_pipe().get(), POLLIN) : kNone;
    size_t in =
        child_.stdin_pipe() ? add(child_.stdin_pipe().get(), POLLOUT) : kNone;
    // The leader's exit only wakes the poll; the loop handles it
    // (HasExited) after the pipes had their turn, so output written just
    // before the exit is not lost.
    if (!reaped_) add(child_.pidfd(), POLLIN);
    size_t wake = reaped_ ? kNone : add(control_.wake_fd(), POLLIN);
    int timeout_ms = PollTimeoutMs(
        now, {deadline_, kill_at_,
              reaped_ ? drain_deadline_ : absl::InfiniteFuture()});
    int ready = ::poll(fds.data(), fds.size(), timeout_ms);
    if (ready <= 0) return;  // timeout or EINTR: the loop re-checks
    if (wake != kNone && fds[wake].revents != 0) control_.ClearWake();
    if (in != kNone && fds[in].revents != 0) WriteStdin();
    if (out != kNone && fds[out].revents != 0) {
      ReadFrom(child_.stdout_pipe(), v1::STDOUT);
    }
    if (err != kNone && fds[err].revents != 0) {
      ReadFrom(child_.stderr_pipe(), v1::STDERR);
    }
  }

  void WriteStdin() {
    UniqueFd& pipe = child_.stdin_pipe();
    while (!stdin_left_.empty()) {
      ssize_t n = ::write(pipe.get(), stdin_left_.data(), stdin_left_.size());
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && errno == EAGAIN) return;  // the pipe is full; poll again
      if (n < 0) break;  // EPIPE: the program does not read its input
      stdin_left_.remove_prefix(static_cast<size_t>(n));
    }
    pipe.Reset();  // all written (or unwanted): the program sees EOF
  }

  void ReadFrom(UniqueFd& pipe, v1::Stream stream) {
    char buffer[kReadSize];
    ssize_t n = ::read(pipe.get(), buffer, sizeof(buffer));
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) return;
    if (n <= 0) {  // EOF: every writer is gone
      pipe.Reset();
      return;
    }
    if (!Streaming()) return;  // output after the cut or with no receiver
    size_t allowed = budget_.Take(static_cast<size_t>(n));
    if (allowed > 0) {
      (stream == v1::STDERR ? outcome_.stderr_bytes : outcome_.stdout_bytes) +=
          allowed;
      SendChunk(stream, absl::string_view(buffer, allowed));
    }
    if (allowed < static_cast<size_t>(n) && Streaming()) {
      SendChunk(v1::STDERR,
                absl::StrCat("\n[cloudlet] output limit of ", budget_.limit(),
                             " bytes reached: the rest is cut and the "
                             "workload was stopped\n"));
      KillGroup(StageEnd::kOutputLimit);
      // The limit decides the outcome even if a stop or timeout came first.
      outcome_.end = StageEnd::kOutputLimit;
    }
  }

  void SendChunk(v1::Stream stream, absl::string_view data) {
    v1::ExecuteEvent event;
    v1::OutputChunk* chunk = event.mutable_output();
    chunk->set_stage(spec_.stage);
    chunk->set_stream(stream);
    chunk->set_data(data.data(), data.size());
    if (!sink_.Send(event)) KillGroup(StageEnd::kReceiverGone);
  }

  const StageSpec& spec_;
  const absl::Time deadline_;
  RunControl& control_;
  OutputBudget& budget_;
  EventSink& sink_;
  ChildProcess child_;
  absl::string_view stdin_left_;

  StageOutcome outcome_;
  bool reaped_ = false;
  absl::Time kill_at_ = absl::InfiniteFuture();
  absl::Time drain_deadline_ = absl::InfiniteFuture();
};

}  // namespace

size_t OutputBudget::Take(size_t wanted) {
  uint64_t left = used_ >= limit_ ? 0 : limit_ - used_;
  size_t granted = static_cast<size_t>(std::min<uint64_t>(wanted, left));
  used_ += granted;
  return granted;
}

absl::StatusOr<StageOutcome> RunStage(const StageSpec& spec,
                                      absl::Time deadline, RunControl& control,
                                      OutputBudget& budget, EventSink& sink) {
  SpawnOptions options = spec.spawn;
  options.stdin_mode =
      spec.stdin_data.empty() ? StdioMode::kNull : StdioMode::kPipe;
  options.stdout_mode = StdioMode::kPipe;
  options.stderr_mode = StdioMode::kPipe;
  options.stderr_to_stdout = false;
  absl::StatusOr<ChildProcess> child = ChildProcess::Spawn(options);
  if (!child.ok()) return child.status();
  for (UniqueFd* fd :
       {&child->stdin_pipe(), &child->stdout_pipe(), &child->stderr_pipe()}) {
    if (absl::Status s = SetNonBlocking(*fd); !s.ok()) return s;
  }
  SPDLOG_DEBUG("run={} event=spawned pid={} argv0={}", control.run_id(),
               child->pid(), options.argv[0]);
  return StagePump(spec, deadline, control, budget, sink, *std::move(child))
      .Run();
}

}  // namespace cloudlet::agent
