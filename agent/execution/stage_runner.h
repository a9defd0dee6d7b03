#ifndef CLOUDLET_AGENT_EXECUTION_STAGE_RUNNER_H_
#define CLOUDLET_AGENT_EXECUTION_STAGE_RUNNER_H_

#include <cstdint>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "agent.pb.h"
#include "agent/execution/event_sink.h"
#include "agent/execution/run_control.h"
#include "common/process/subprocess.h"

namespace cloudlet::agent {

// The output bytes one run may still send (stdout and stderr of all its
// stages together). Not thread-safe: it belongs to the run's thread.
class OutputBudget {
 public:
  explicit OutputBudget(uint64_t limit) : limit_(limit) {}
  uint64_t limit() const { return limit_; }
  // How many of `wanted` bytes may still be sent; takes them from the
  // budget. Less than `wanted` means the cap is reached.
  size_t Take(size_t wanted);

 private:
  uint64_t limit_;
  uint64_t used_ = 0;
};

// One process of a run (the build or the program).
struct StageSpec {
  v1::Stage stage = v1::RUNNING;  // tags the output chunks
  // argv, cwd and env; the stdio fields are set by RunStage.
  SpawnOptions spawn;
  // Written to the process's stdin, which is then closed; empty means
  // /dev/null.
  std::string stdin_data;
};

// How a stage ended.
enum class StageEnd {
  kExited,        // the process ended by itself; `status` says how
  kTimedOut,      // the run's deadline passed; the group was killed
  kStopped,       // a StopRequest arrived (RunControl); see its reason
  kOutputLimit,   // the output budget ran out; the group was killed
  kReceiverGone,  // the event receiver went away; the group was killed
};

struct StageOutcome {
  StageEnd end = StageEnd::kExited;
  ExitStatus status;  // how the process ended (killed: its signal)
  absl::Duration elapsed;
  // CPU time and peak memory of the process and the children it waited for.
  std::optional<ResourceUsage> usage;
  // The workload's own output bytes sent (Cloudlet's notices not counted).
  uint64_t stdout_bytes = 0;
  uint64_t stderr_bytes = 0;
};

// How long a process gets to exit after a stop signal other than SIGKILL
// before its group is killed, so that a stop always ends within a second.
inline constexpr absl::Duration kStopGrace = absl::Milliseconds(500);

// Runs one process in its own process group and streams every read of its
// stdout and stderr as an OutputChunk to `sink` at once (no line
// buffering). Returns when the process has ended and its output is
// drained. It kills the whole group when `deadline` passes, a stop is
// requested through `control`, the `budget` runs out (after a stderr
// notice saying so) or the sink's receiver goes away; when the leader
// exits by itself, what is left of its group is killed too. No process, fd
// or zombie outlives the call. Errors: NotFound when the program cannot be
// started, Internal for system failures. Call on the run's thread.
absl::StatusOr<StageOutcome> RunStage(const StageSpec& spec,
                                      absl::Time deadline, RunControl& control,
                                      OutputBudget& budget, EventSink& sink);

}  // namespace cloudlet::agent

#endif  // CLOUDLET_AGENT_EXECUTION_STAGE_RUNNER_H_
