#ifndef CLOUDLET_AGENT_GUEST_CLOCK_OFFSET_H_
#define CLOUDLET_AGENT_GUEST_CLOCK_OFFSET_H_

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace cloudlet::agent {

// gRPC's core will not start before CLOCK_MONOTONIC reads 2 s: until then
// it sleeps in 100 ms steps (grpc_core InitTime, src/core/lib/gprpp/time.cc).
// A guest's monotonic clock starts at boot, and the agent starts about 1.1 s
// into it under TCG, so without help every VM would idle ~0.9 s here.
inline constexpr absl::Duration kGrpcMinimumMonotonicClock = absl::Seconds(2);

// Makes CLOCK_MONOTONIC (and CLOCK_BOOTTIME, /proc/uptime) of this process
// and of every process it starts read at least `at_least`, by moving the
// process into a new time namespace whose clocks are offset by whole
// seconds. Returns the offset applied: zero, and nothing changed, when the
// clock already reads `at_least`. The clocks still advance at the real
// rate; only their origin moves, which nothing outside the namespace sees.
//
// Call it from main before any thread exists: joining a time namespace
// needs a single-threaded process. Needs CAP_SYS_ADMIN and a kernel with
// CONFIG_TIME_NS; without them it returns the error and changes nothing
// (the caller can go on: gRPC then just waits).
absl::StatusOr<absl::Duration> EnsureMonotonicClockAtLeast(
    absl::Duration at_least);

}  // namespace cloudlet::agent

#endif  // CLOUDLET_AGENT_GUEST_CLOCK_OFFSET_H_
