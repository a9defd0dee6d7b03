#include "vmm/vm/agent_ready.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "spdlog/spdlog.h"

namespace cloudlet::vmm {
namespace {

// How often a wait for the console line checks `still_worth_waiting`; the
// line itself wakes the wait at once.
constexpr absl::Duration kStillWorthWaitingCheck = absl::Milliseconds(100);

}  // namespace

absl::Status WaitForGuestAgent(
    const QemuProcess& vm, AgentClient& agent, absl::Time deadline,
    const std::function<bool()>& still_worth_waiting) {
  absl::Time start = absl::Now();
  for (;;) {
    if (still_worth_waiting && !still_worth_waiting()) {
      return absl::UnavailableError(
          "stopped waiting for the guest's agent to serve");
    }
    absl::Status seen = vm.AwaitConsoleText(
        kAgentServingLine,
        std::min(deadline, absl::Now() + kStillWorthWaitingCheck));
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
  return agent.WaitUntilHealthy(deadline, still_worth_waiting);
}

}  // namespace cloudlet::vmm
