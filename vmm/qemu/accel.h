#ifndef CLOUDLET_VMM_QEMU_ACCEL_H_
#define CLOUDLET_VMM_QEMU_ACCEL_H_

namespace cloudlet::vmm {

// How a VM's CPU runs: KVM, QEMU's TCG, or kHost for the host-agent test
// seam (vm/host_agent_provider.h), which runs no VM at all.
enum class Accel { kKvm, kTcg, kHost };

// "kvm", "tcg", "host".
const char* AccelName(Accel accel);

// KVM when /dev/kvm can be opened read-write by this process, else TCG.
Accel DetectAccel();

}  // namespace cloudlet::vmm

#endif  // CLOUDLET_VMM_QEMU_ACCEL_H_
