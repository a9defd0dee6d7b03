#ifndef CLOUDLET_VMM_VM_AGENT_READY_H_
#define CLOUDLET_VMM_VM_AGENT_READY_H_

#include <functional>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "common/guest_console.h"
#include "common/sync/cancel.h"
#include "vmm/vm/agent_client.h"
#include "vmm/qemu/qemu_process.h"

namespace cloudlet::vmm {

// Waits until the agent in `vm` answers Health through `agent`: first for
// the agent's kAgentServingLine on the console (common/guest_console.h),
// then polls Health (AgentClient::WaitUntilHealthy), which then answers at
// the first attempt.
//
// Why two steps: until the guest's network is up, QEMU's port forward
// accepts a connection but the guest drops its SYN, and slirp retries only
// seconds later, so a Health attempt made then stalls until its own
// deadline and readiness is seen up to a second late; and until the agent
// listens, every attempt is a refused connection that costs the booting
// guest CPU time. The line comes once both are past.
//
// DeadlineExceeded when `deadline` passes; Unavailable when QEMU's output
// ends first or `give_up` is cancelled (checked at least every
// CancelToken::kPollInterval).
absl::Status WaitForGuestAgent(
    const QemuProcess& vm, AgentClient& agent, absl::Time deadline,
    const CancelToken& give_up);

}  // namespace cloudlet::vmm

#endif  // CLOUDLET_VMM_VM_AGENT_READY_H_
