#include "common/sync/poll.h"

#include <algorithm>

#include "absl/strings/str_cat.h"

namespace cloudlet {

absl::Status PollUntil(absl::string_view what, absl::Time deadline,
                       const std::function<absl::StatusOr<bool>()>& probe,
                       absl::Duration first_interval,
                       absl::Duration max_interval) {
  absl::Duration interval = first_interval;
  while (true) {
    absl::StatusOr<bool> ready = probe();
    if (!ready.ok()) return ready.status();
    if (*ready) return absl::OkStatus();
    absl::Duration left = deadline - absl::Now();
    if (left <= absl::ZeroDuration()) {
      return absl::DeadlineExceededError(
          absl::StrCat("timed out waiting for ", what));
    }
    absl::SleepFor(std::min(interval, left));  // backoff between probes
    interval = std::min(interval * 2, max_interval);
  }
}

}  // namespace cloudlet
