#ifndef CLOUDLET_CLI_INTERRUPT_H_
#define CLOUDLET_CLI_INTERRUPT_H_

#include <memory>

#include "absl/status/statusor.h"
#include "common/process/unique_fd.h"

namespace cloudlet::cli {

// Turns Ctrl-C (SIGINT) and SIGTERM into a descriptor that becomes
// readable, so that the HTTP client's poll loop wakes at once and drops the
// connection (which makes the API cancel the run and the VMM kill its VM).
//
// A signal handler can reach only global state: the handler writes to a
// pipe whose write end is the one process-wide variable, set while an
// InterruptWatcher exists. At most one may exist at a time.
class InterruptWatcher {
 public:
  // Installs the handlers (SA_RESTART, so interrupted writes resume).
  // FailedPrecondition if another watcher exists.
  static absl::StatusOr<std::unique_ptr<InterruptWatcher>> Install();

  InterruptWatcher(const InterruptWatcher&) = delete;
  InterruptWatcher& operator=(const InterruptWatcher&) = delete;
  // Restores the default dispositions.
  ~InterruptWatcher();

  // Readable (poll POLLIN) once a signal arrived; stays readable.
  int fd() const { return read_end_.get(); }
  // The first signal that arrived, or 0.
  int signal() const;

 private:
  InterruptWatcher(UniqueFd read_end, UniqueFd write_end)
      : read_end_(std::move(read_end)), write_end_(std::move(write_end)) {}

  UniqueFd read_end_;
  UniqueFd write_end_;
};

}  // namespace cloudlet::cli

#endif  // CLOUDLET_CLI_INTERRUPT_H_
