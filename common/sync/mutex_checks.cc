#include "common/sync/mutex_checks.h"

#include "absl/synchronization/mutex.h"

namespace cloudlet {

void DisableDebugOnlyMutexChecks() {
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
}

}  // namespace cloudlet
