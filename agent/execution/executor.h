#ifndef CLOUDLET_AGENT_EXECUTION_EXECUTOR_H_
#define CLOUDLET_AGENT_EXECUTION_EXECUTOR_H_

#include <sys/types.h>

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "agent.pb.h"
#include "agent/execution/event_sink.h"
#include "agent/plan/languages.h"
#include "agent/plan/request_validation.h"
#include "agent/execution/run_control.h"

namespace cloudlet::agent {

// An unprivileged user for the workloads' processes.
struct RunAs {
  uid_t uid = 65534;
  gid_t gid = 65534;
};

struct ExecutorOptions {
  // Each run gets a private directory under this one, removed afterwards.
  std::filesystem::path work_root = "/tmp";
  // Timeout when the workload gives none, and the most it may ask for.
  absl::Duration default_timeout = absl::Minutes(5);
  absl::Duration max_timeout = absl::Minutes(30);
  // Output cap (stdout + stderr of build and run); a workload may ask for
  // less, never for more.
  uint64_t output_limit_bytes = 16 << 20;
  RequestLimits request_limits;
  // The environment every run starts from ("KEY=VALUE"), normally the
  // agent's own; the language's defaults and the workload's env go on top.
  std::vector<std::string> base_env;
  // When set (the guest's agent runs as root; its workloads must not), a
  // run's processes run as this user, which owns the run's directory and
  // gets a HOME in it (unless the workload sets HOME); they may have at
  // most `max_processes` processes and threads at once (RLIMIT_NPROC, so a
  // fork bomb stops there), and have oom_score_adj 0 whatever the agent's,
  // so the OOM killer takes them before an agent that protected itself.
  // Needs the agent to run as root, and `work_root` to be searchable by
  // that user.
  std::optional<RunAs> run_as;
  uint32_t max_processes = 256;
};

// A checked request, ready to run: what Executor::Prepare returns.
struct PreparedRun {
  v1::ExecuteRequest request;  // run_id filled in
  LanguagePlan plan;
  std::vector<std::string> env;  // the processes' whole environment
  absl::Duration timeout;
  uint64_t output_limit_bytes = 0;
  bool build = false;  // whether the build stage runs
  bool run = false;    // whether the run stage runs
};

// Runs workloads: private work dir, files, build, run, events. Holds only
// its options, so one Executor serves any number of concurrent runs, each
// on its caller's thread.
class Executor {
 public:
  explicit Executor(ExecutorOptions options);

  const ExecutorOptions& options() const { return options_; }

  // Checks `request` and that its toolchain is installed; starts nothing.
  // InvalidArgument for a bad request, FailedPrecondition naming the
  // missing program. Fills in a fresh run id when the request has none.
  absl::StatusOr<PreparedRun> Prepare(v1::ExecuteRequest request) const;

  // Runs `run` to its end on the calling thread: sends Accepted, stage
  // changes, output chunks and finally the Result (also returned) to
  // `sink`. Never fails: problems end up in the Result (FAILED with a
  // reason). The work dir and every process are gone when it returns.
  v1::Result Run(const PreparedRun& run, RunControl& control,
                 EventSink& sink) const;

 private:
  ExecutorOptions options_;
};

}  // namespace cloudlet::agent

#endif  // CLOUDLET_AGENT_EXECUTION_EXECUTOR_H_
