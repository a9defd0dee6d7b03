#ifndef CLOUDLET_COMMON_SYNC_MUTEX_CHECKS_H_
#define CLOUDLET_COMMON_SYNC_MUTEX_CHECKS_H_

namespace cloudlet {

// Turns off absl::Mutex's deadlock detector for this process.
//
// Debian builds Abseil without NDEBUG, which leaves the detector on: every
// Lock() records lock order in one process-wide graph (GraphCycles): 14 %
// of the agent's start-up instructions (callgrind) and a global lock on
// every gRPC mutex. A release build of Abseil has it off, so the daemons
// call this first thing in main(); tests do not, and keep the checks.
void DisableDebugOnlyMutexChecks();

}  // namespace cloudlet

#endif  // CLOUDLET_COMMON_SYNC_MUTEX_CHECKS_H_
