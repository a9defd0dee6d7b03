#ifndef CLOUDLET_VMM_RUN_RUNNER_H_
#define CLOUDLET_VMM_RUN_RUNNER_H_

#include <atomic>
#include <cstddef>
#include <functional>
#include <unordered_set>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "vmm.pb.h"
#include "vmm/artifacts/artifact_cache.h"
#include "vmm/artifacts/build_cache.h"
#include "vmm/run/cancellation.h"
#include "vmm/run/event_relay.h"
#include "vmm/run/run_request.h"
#include "vmm/run/slot_limiter.h"
#include "vmm/vm/vm_provider.h"
#include "common/run_limits.h"
#include "common/sync/clock.h"

namespace cloudlet::vmm {

struct RunnerOptions {
  RunLimits limits;
  // QEMU start until the agent answers.
  absl::Duration boot_timeout = absl::Seconds(60);
  // How long past the workload's own timeout the VMM waits for the agent
  // to report it before it kills the VM itself.
  absl::Duration agent_grace = absl::Seconds(5);
  // How often the watchdog of a run checks the caller, the clock and the VM.
  absl::Duration watch_interval = absl::Milliseconds(50);
  size_t console_tail_lines = kConsoleTailLines;
  // What the runs' timings and deadlines are read from (tests may hold it
  // still); must outlive the Runner.
  const Clock* clock = Clock::Real();
};

// Runs workloads, one fresh VM each: the whole lifecycle of a run (admit,
// artifacts, cached build, queue, boot, the agent's Execute, result), with
// no gRPC server in sight. A run whose build is cached sends it to its VM,
// which skips the build; any other run asks its agent for the build's
// output and keeps it (unless the workload says rebuild, which only skips
// the lookup). Thread-safe: every Run call runs on its caller's thread, and
// the other methods may be called from any thread meanwhile. The
// artifacts, build cache, VM provider and slot limiter must outlive the
// Runner.
class Runner {
 public:
  // `builds` may be null: every run then builds.
  Runner(RunnerOptions options, ArtifactCache* artifacts, BuildCache* builds,
         VmProvider* vms, SlotLimiter* slots);
  Runner(const Runner&) = delete;
  Runner& operator=(const Runner&) = delete;

  // Runs `request` to its end on the calling thread, which the run's VM
  // cannot outlive (PR_SET_PDEATHSIG is per thread).
  //
  // Refusals come back as the status, before any event: InvalidArgument
  // (bad request), ResourceExhausted (all slots and the queue full),
  // Unavailable (shutting down). Otherwise the status is OK and `sink` got
  // Accepted, the progress, stage, boot and agent events, and exactly one
  // Result last, however the run ended. `caller_gone` is checked every
  // watch_interval from another thread: once it is cancelled the run is
  // cancelled and its VM killed.
  absl::Status Run(const v1::RunRequest& request, RunEventSink& sink,
                   CancelToken caller_gone);

  // Later Run calls fail Unavailable; runs still queued end SHUTTING_DOWN.
  // Runs that hold a slot go on.
  void StopAdmitting();
  // Cancels every run in flight: each ends FAILED with `reason` and its VM
  // is killed. Does not wait (see WaitUntilIdle).
  void CancelAll(v1::Reason reason, absl::string_view message);
  // Blocks until no run is in flight or `deadline` passes; true when idle.
  bool WaitUntilIdle(absl::Time deadline);
  int in_flight() const;
  // The VMs of runs in flight, each counted from the start of its boot
  // until it is gone (killed, reaped, its state removed).
  int vms_running() const { return vms_running_.load(); }
  // Runs accepted since start (each got its Accepted event).
  uint64_t runs_accepted() const { return runs_accepted_.load(); }

 private:
  class Registration;

  const RunnerOptions options_;
  ArtifactCache* const artifacts_;
  BuildCache* const builds_;
  VmProvider* const vms_;
  SlotLimiter* const slots_;

  mutable absl::Mutex mu_;
  absl::CondVar idle_;
  std::unordered_set<Cancellation*> active_ ABSL_GUARDED_BY(mu_);
  std::atomic<int> vms_running_{0};
  std::atomic<uint64_t> runs_accepted_{0};
};

}  // namespace cloudlet::vmm

#endif  // CLOUDLET_VMM_RUN_RUNNER_H_
