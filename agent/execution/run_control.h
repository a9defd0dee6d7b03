#ifndef CLOUDLET_AGENT_EXECUTION_RUN_CONTROL_H_
#define CLOUDLET_AGENT_EXECUTION_RUN_CONTROL_H_

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "agent.pb.h"
#include "common/process/unique_fd.h"

namespace cloudlet::agent {

// Why and how a run was asked to stop.
struct StopRequest {
  int signal = 0;     // sent to the run's process group (SIGKILL, SIGTERM...)
  v1::Reason reason;  // CANCELLED or SHUTTING_DOWN
  std::string message;
};

// The cross-thread handle of one run: other threads (Signal RPC, shutdown)
// ask it to stop; the run's own thread, which alone owns the processes,
// picks the requests up and delivers the signals. Thread-safe.
class RunControl {
 public:
  // Internal error if the wake-up eventfd cannot be created.
  static absl::StatusOr<std::shared_ptr<RunControl>> Create(std::string run_id);

  const std::string& run_id() const { return run_id_; }

  // Any thread. Records the request and wakes the run's thread (wake_fd()
  // becomes readable). The first request decides the reason; every
  // request's signal is delivered, in order.
  void RequestStop(StopRequest request);

  // The first stop request, if any.
  std::optional<StopRequest> stop_request() const;

  // Run's thread: the signals requested since the last call, in order.
  std::vector<int> TakePendingSignals();

  // Readable (poll POLLIN) after RequestStop; ClearWake() makes it
  // unreadable again. Owned by this object.
  int wake_fd() const { return wake_fd_.get(); }
  void ClearWake();

 private:
  RunControl(std::string run_id, UniqueFd wake_fd)
      : run_id_(std::move(run_id)), wake_fd_(std::move(wake_fd)) {}

  const std::string run_id_;
  const UniqueFd wake_fd_;
  mutable absl::Mutex mu_;
  std::optional<StopRequest> first_request_ ABSL_GUARDED_BY(mu_);
  std::vector<int> pending_signals_ ABSL_GUARDED_BY(mu_);
};

}  // namespace cloudlet::agent

#endif  // CLOUDLET_AGENT_EXECUTION_RUN_CONTROL_H_
