#ifndef CLOUDLET_AGENT_GUEST_GUEST_SYNC_H_
#define CLOUDLET_AGENT_GUEST_GUEST_SYNC_H_

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace cloudlet::agent {

// What the host hands a guest with each run, so that a VM resumed from a
// snapshot does not keep the snapshot's stale clock and RNG state. Both
// change the whole machine, not just this process: on a host (tests) they
// change the host's clock and entropy pool. Thread-safe (each is one
// syscall sequence on kernel state).

// Sets CLOCK_REALTIME to `host_time` (a step, not a slew). Needs
// CAP_SYS_TIME: PermissionDenied without it; InvalidArgument for a time
// the kernel refuses (e.g. before 1970). The error message carries errno's
// text. Note that this also moves every absl::Now()-based deadline of runs
// already in progress.
absl::Status ApplyHostTime(absl::Time host_time);

// Mixes `bytes` into the kernel's entropy pool, crediting 8 bits per byte
// (ioctl RNDADDENTROPY on /dev/urandom), then forces the CRNG to reseed
// (RNDRESEEDCRNG) so that getrandom() output from now on depends on them.
// `bytes` must come from a cryptographically secure source. Empty `bytes`:
// OK, and nothing is touched. Needs CAP_SYS_ADMIN: PermissionDenied
// without it; other failures carry errno's text. The bytes are not kept.
absl::Status MixHostEntropy(absl::string_view bytes);

}  // namespace cloudlet::agent

#endif  // CLOUDLET_AGENT_GUEST_GUEST_SYNC_H_
