#include "tests/cli/cli_process.h"

#include <poll.h>
#include <unistd.h>

#include <cerrno>

#include "absl/strings/match.h"
#include "absl/time/clock.h"

extern char** environ;

namespace cloudlet::testing {

CliOutcome RunCloudlet(const std::string& binary, const CliInvocation& call) {
  SpawnOptions options;
  options.argv = {binary};
  options.argv.insert(options.argv.end(), call.args.begin(), call.args.end());
  std::vector<std::string> env;
  for (char** e = environ; *e != nullptr; ++e) {
    if (!absl::StartsWith(*e, "CLOUDLET_")) env.emplace_back(*e);
  }
  env.insert(env.end(), call.env.begin(), call.env.end());
  options.env = env;
  options.cwd = call.cwd;
  options.stdout_mode = StdioMode::kPipe;
  options.stderr_mode = StdioMode::kPipe;
  CliOutcome outcome;
  outcome.started = absl::Now();
  absl::StatusOr<ChildProcess> child = ChildProcess::Spawn(options);
  if (!child.ok()) {
    outcome.err = std::string(child.status().message());
    outcome.exit.code = -1;
    return outcome;
  }
  absl::Time deadline = outcome.started + call.timeout;
  bool out_open = true, err_open = true;
  char buffer[16 * 1024];
  while (out_open || err_open) {
    absl::Duration left = deadline - absl::Now();
    if (left <= absl::ZeroDuration()) {
      outcome.timed_out = true;
      break;
    }
    pollfd fds[2] = {
        {.fd = out_open ? child->stdout_pipe().get() : -1, .events = POLLIN,
         .revents = 0},
        {.fd = err_open ? child->stderr_pipe().get() : -1, .events = POLLIN,
         .revents = 0}};
    int ms = static_cast<int>(std::min<int64_t>(
        absl::ToInt64Milliseconds(left) + 1, 200));
    if (::poll(fds, 2, ms) <= 0) continue;
    for (int i = 0; i < 2; ++i) {
      if (fds[i].revents == 0) continue;
      ssize_t n = ::read(fds[i].fd, buffer, sizeof(buffer));
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        (i == 0 ? out_open : err_open) = false;
        continue;
      }
      std::string piece(buffer, static_cast<size_t>(n));
      if (i == 0) {
        outcome.out += piece;
        outcome.out_pieces.emplace_back(absl::Now(), piece);
        if (call.on_stdout) call.on_stdout(outcome.out, *child);
      } else {
        outcome.err += piece;
      }
    }
  }
  if (outcome.timed_out) {
    outcome.exit = child->Kill();
  } else {
    absl::StatusOr<ExitStatus> status =
        child->WaitFor(std::max(deadline - absl::Now(), absl::Seconds(1)));
    if (status.ok()) {
      outcome.exit = *status;
    } else {
      outcome.timed_out = true;
      outcome.exit = child->Kill();
    }
  }
  outcome.ended = absl::Now();
  return outcome;
}

}  // namespace cloudlet::testing
