#ifndef CLOUDLET_VMM_RUN_RUN_REQUEST_H_
#define CLOUDLET_VMM_RUN_RUN_REQUEST_H_

#include <cstddef>
#include <cstdint>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "vmm.pb.h"
#include "common/run_limits.h"

namespace cloudlet::vmm {

// What a run may ask for, and what it gets when it asks for nothing.
struct RunLimits {
  uint32_t default_memory_mib = 256;
  uint32_t min_memory_mib = 64;
  uint32_t max_memory_mib = 4096;
  uint32_t default_vcpus = 1;
  uint32_t max_vcpus = 8;
  uint32_t default_agent_port = 5000;
  absl::Duration default_timeout = absl::Seconds(60);
  absl::Duration max_timeout = absl::Minutes(10);
  // The agent applies the same caps; both travel in one gRPC message, whose
  // default limit is 4 MiB.
  size_t max_code_bytes = kMaxCodeBytes;
  size_t max_stdin_bytes = kMaxStdinBytes;
};

// A request checked and completed with the defaults.
struct ResolvedRun {
  // The workload as the agent gets it: timeout set to `timeout`.
  v1::Workload workload;
  uint32_t memory_mib = 0;
  uint32_t vcpus = 0;
  uint16_t agent_port = 0;
  absl::Duration timeout;  // build and run together
};

// Checks `request` against `limits` and fills in the defaults. Pure.
// InvalidArgument naming the field and the accepted range for: no workload,
// unspecified or unknown language or action, empty code, code or stdin over
// their caps, a negative timeout or one over the maximum, memory, vCPUs or
// agent port out of range.
absl::StatusOr<ResolvedRun> ResolveRunRequest(const v1::RunRequest& request,
                                              const RunLimits& limits);

}  // namespace cloudlet::vmm

#endif  // CLOUDLET_VMM_RUN_RUN_REQUEST_H_
