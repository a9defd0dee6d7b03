#ifndef CLOUDLET_AGENT_PLAN_REQUEST_VALIDATION_H_
#define CLOUDLET_AGENT_PLAN_REQUEST_VALIDATION_H_

#include <cstddef>

#include "absl/status/status.h"
#include "agent.pb.h"
#include "common/run_limits.h"

namespace cloudlet::agent {

// Size caps an ExecuteRequest must respect.
struct RequestLimits {
  size_t max_code_bytes = kMaxCodeBytes;
  size_t max_stdin_bytes = kMaxStdinBytes;
  size_t max_prebuilt_bytes = kMaxBuiltProgramBytes;
};

// The longest run id a caller may choose; ids are also used in directory
// names and log lines, so they are limited to [A-Za-z0-9._-].
inline constexpr size_t kMaxRunIdLength = 64;

// The most host_entropy a request may carry: 4096 bits, the size of the
// kernel's input pool; more would be credited for nothing.
inline constexpr size_t kMaxHostEntropyBytes = 512;

// OK when `request` can be run. Otherwise InvalidArgument whose message
// names the field and says what to change ("workload.code is empty: send
// the source file's content"). Checks only the request itself, not whether
// the toolchain is installed. A prebuilt program must hold exactly the
// plan's build outputs, each once.
absl::Status ValidateExecuteRequest(const v1::ExecuteRequest& request,
                                    const RequestLimits& limits);

}  // namespace cloudlet::agent

#endif  // CLOUDLET_AGENT_PLAN_REQUEST_VALIDATION_H_
