#ifndef CLOUDLET_TESTS_SUPPORT_NO_QEMU_LEFT_H_
#define CLOUDLET_TESTS_SUPPORT_NO_QEMU_LEFT_H_

#include <sys/types.h>

#include <vector>

#include "absl/time/time.h"

namespace cloudlet::testing {

// Live (not zombie) qemu-system-* processes whose parent chain includes
// `ancestor`.
std::vector<pid_t> QemuDescendantsOf(pid_t ancestor);

// Polls until no qemu-system process descends from this test process or
// `deadline` passes; returns the ones still alive then (empty: none left).
std::vector<pid_t> WaitUntilNoQemuLeft(absl::Duration timeout);

// Polls until process `pid` is gone (or a zombie); false at the deadline.
bool WaitUntilProcessGone(pid_t pid, absl::Duration timeout);

// Makes every test of this binary fail if a qemu-system process that this
// test process started (directly or through its children) is still alive
// 2 s after the test ends; such stragglers are then killed so that the next
// test starts clean. It also makes this process a child subreaper, so that
// a QEMU orphaned by a dead intermediate process is still counted as ours.
// Call once, e.g. from main() or a global Environment, before tests run.
// Reuse it in any test binary that starts VMs.
void InstallNoQemuLeftCheck();

}  // namespace cloudlet::testing

#endif  // CLOUDLET_TESTS_SUPPORT_NO_QEMU_LEFT_H_
