#include "cli/interrupt.h"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"

namespace cloudlet::cli {
namespace {

// The only state a signal handler can reach (see the header).
std::atomic<int> g_write_fd{-1};
std::atomic<int> g_signal{0};

void OnSignal(int signal_number) {
  int expected = 0;
  g_signal.compare_exchange_strong(expected, signal_number);
  int fd = g_write_fd.load();
  if (fd >= 0) {
    int saved = errno;
    char byte = 1;
    (void)!::write(fd, &byte, 1);
    errno = saved;
  }
}

}  // namespace

absl::StatusOr<std::unique_ptr<InterruptWatcher>> InterruptWatcher::Install() {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC | O_NONBLOCK) != 0) {
    return absl::InternalError(absl::StrCat("pipe2: ", std::strerror(errno)));
  }
  std::unique_ptr<InterruptWatcher> watcher(
      new InterruptWatcher(UniqueFd(fds[0]), UniqueFd(fds[1])));
  int expected = -1;
  if (!g_write_fd.compare_exchange_strong(expected, fds[1])) {
    return absl::FailedPreconditionError("an InterruptWatcher already exists");
  }
  g_signal = 0;
  struct sigaction action {};
  action.sa_handler = &OnSignal;
  action.sa_flags = SA_RESTART;
  sigemptyset(&action.sa_mask);
  ::sigaction(SIGINT, &action, nullptr);
  ::sigaction(SIGTERM, &action, nullptr);
  return watcher;
}

InterruptWatcher::~InterruptWatcher() {
  struct sigaction action {};
  action.sa_handler = SIG_DFL;
  sigemptyset(&action.sa_mask);
  ::sigaction(SIGINT, &action, nullptr);
  ::sigaction(SIGTERM, &action, nullptr);
  g_write_fd = -1;
}

int InterruptWatcher::signal() const { return g_signal.load(); }

}  // namespace cloudlet::cli
