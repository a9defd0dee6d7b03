#ifndef CLOUDLET_COMMON_SYNC_POLL_H_
#define CLOUDLET_COMMON_SYNC_POLL_H_

#include <functional>

#include "absl/strings/string_view.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace cloudlet {

// Calls `probe` until it returns true, an error, or `deadline` passes,
// waiting between attempts with a backoff that starts at `first_interval`
// and doubles up to `max_interval`. Readiness is always polled like this,
// never assumed after a fixed sleep. Returns the probe's error,
// or DeadlineExceeded naming `what`.
absl::Status PollUntil(absl::string_view what, absl::Time deadline,
                       const std::function<absl::StatusOr<bool>()>& probe,
                       absl::Duration first_interval = absl::Milliseconds(5),
                       absl::Duration max_interval = absl::Milliseconds(100));

}  // namespace cloudlet

#endif  // CLOUDLET_COMMON_SYNC_POLL_H_
