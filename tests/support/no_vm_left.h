#ifndef CLOUDLET_TESTS_SUPPORT_NO_VM_LEFT_H_
#define CLOUDLET_TESTS_SUPPORT_NO_VM_LEFT_H_

#include <sys/types.h>

#include <vector>

#include "absl/time/time.h"

namespace cloudlet::testing {

// Live (not zombie) VM processes whose parent chain includes `ancestor`:
// qemu-system-*, and cloudlet-agent processes, which stand in for VMs in
// the seam tests (cloudlet-vmm --vm_provider=host_agent).
std::vector<pid_t> VmProcessesOf(pid_t ancestor);

// Polls until no VM process descends from this test process or
// `deadline` passes; returns the ones still alive then (empty: none left).
std::vector<pid_t> WaitUntilNoVmLeft(absl::Duration timeout);

// Polls until process `pid` is gone (or a zombie); false at the deadline.
bool WaitUntilProcessGone(pid_t pid, absl::Duration timeout);

// Makes every test of this binary fail if a VM process that this test
// process started (directly or through its children) is still alive 2 s
// after the test ends; such stragglers are then killed so that the next
// test starts clean. It also makes this process a child subreaper, so that
// a VM orphaned by a dead intermediate process is still counted as ours.
// Call once, e.g. from main() or a global Environment, before tests run.
// Reuse it in any test binary that starts VMs.
void InstallNoVmLeftCheck();

}  // namespace cloudlet::testing

#endif  // CLOUDLET_TESTS_SUPPORT_NO_VM_LEFT_H_
