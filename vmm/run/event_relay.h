#ifndef CLOUDLET_VMM_RUN_EVENT_RELAY_H_
#define CLOUDLET_VMM_RUN_EVENT_RELAY_H_

#include <optional>
#include <string>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "agent.pb.h"
#include "common/sync/clock.h"
#include "vmm.pb.h"

namespace cloudlet::vmm {

// Where a run's events go (the gRPC stream, in the service). Send returns
// false once the receiver is gone; later sends are then pointless but
// harmless. Called from the run's thread only.
class RunEventSink {
 public:
  virtual ~RunEventSink() = default;
  virtual bool Send(const v1::RunEvent& event) = 0;
};

// The VMM's parts of a run's timings.
struct VmmTimings {
  std::optional<absl::Duration> prepare;
  std::optional<absl::Duration> queue;
  std::optional<absl::Duration> boot;
};

// Composes one run's event stream: the VMM's own events, the agent's events
// relayed unchanged, and exactly one Result at the end. Remembers the stage
// the run is in, logs one INFO line per event (`run=… event=stage
// stage=booting ms=…`, never code or output), and stops sending after the
// Result. Used from the run's thread only.
class EventRelay {
 public:
  // Times are read from `clock`, which must outlive the relay; `started`
  // is the request's arrival on it.
  EventRelay(std::string run_id, const Clock* clock, absl::Time started,
             RunEventSink* sink);

  const std::string& run_id() const { return run_id_; }
  // The last stage announced (PENDING before any).
  v1::Stage stage() const { return stage_; }
  bool finished() const { return finished_; }
  VmmTimings& timings() { return timings_; }

  void Accepted();
  void Progress(const v1::Progress& progress);
  void Stage(v1::Stage stage, absl::string_view detail);
  // Also notes for the Result's telemetry whether the VM was resumed and
  // how long after the request it was ready.
  void Booted(absl::string_view accel, absl::Duration boot_time,
              uint32_t memory_mib, uint32_t vcpus, bool resumed);

  // One event of the agent's Execute stream: StageChange and OutputChunk go
  // out unchanged; the agent's Accepted is dropped (the caller has ours),
  // and so is a build output (the VMM's to keep); its Result is kept for
  // FinishWithAgentResult.
  void FromAgent(const v1::ExecuteEvent& event);
  bool has_agent_result() const { return agent_result_.has_value(); }

  // Sends the agent's Result with the VMM's timings added, preceded by a
  // StageChange(DONE or FAILED) if the agent sent none. Without an agent
  // result it fails the run (INTERNAL_ERROR).
  void FinishWithAgentResult();
  // Ends the run as FAILED for `reason`: a StageChange(FAILED) and then the
  // Result, ended_in = the stage the run was in; the agent's build and run
  // timings are kept when it reported any.
  void Fail(v1::Reason reason, absl::string_view message,
            absl::string_view console_tail = "");

 private:
  void Send(const v1::RunEvent& event);
  void SendResult(v1::Result result);
  int64_t ElapsedMs() const;

  const std::string run_id_;
  const Clock* const clock_;
  const absl::Time started_;
  RunEventSink* const sink_;
  v1::Stage stage_ = v1::PENDING;
  bool finished_ = false;
  VmmTimings timings_;
  std::optional<v1::Result> agent_result_;
  bool vm_resumed_ = false;
  std::optional<absl::Duration> vm_ready_;  // request until the VM answered
};

}  // namespace cloudlet::vmm

#endif  // CLOUDLET_VMM_RUN_EVENT_RELAY_H_
