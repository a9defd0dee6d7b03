#include "vmm/vm/agent_ready.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "spdlog/spdlog.h"

namespace cloudlet::vmm {

// The console line wakes the wait at once; `give_up` is checked between.
absl::Status WaitForGuestAgent(
    const QemuProcess& vm, AgentClient& agent, absl::Time deadline,
    const CancelToken& give_up) {
  absl::Time start = absl::Now();
  for (;;) {
    if (give_up.cancelled()) {
      return absl::UnavailableError(
          "stopped waiting for the guest's agent to serve");
    }
    absl::Status seen = vm.AwaitConsoleText(
        kAgentServingLine,
        std::min(deadline, absl::Now() + CancelToken::kPollInterval));
    if (seen.ok()) {
      spdlog::debug("vm={} event=agent_serving_seen after_ms={}",
                    vm.spec().name,
                    absl::ToInt64Milliseconds(absl::Now() - start));
      break;
    }
    if (seen.code() != absl::StatusCode::kDeadlineExceeded) {
      return absl::UnavailableError(absl::StrCat(
          "the VM's console ended before the guest's agent served: ",
          seen.message()));
    }
    if (absl::Now() >= deadline) {
      return absl::DeadlineExceededError(
          "the guest's agent did not start serving in time");
    }
  }
  return agent.WaitUntilHealthy(deadline, give_up);
}

}  // namespace cloudlet::vmm
