#ifndef CLOUDLET_VMM_VM_VM_PROVIDER_H_
#define CLOUDLET_VMM_VM_VM_PROVIDER_H_

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/sync/cancel.h"
#include "vmm/artifacts/artifact_cache.h"
#include "vmm/qemu/accel.h"
#include "vmm/vm/agent_client.h"

namespace cloudlet::vmm {

// What a run needs from its VM.
struct VmRequest {
  std::string run_id;  // for logs and the VM's state dir name
  GuestArtifacts artifacts;
  uint32_t memory_mib = 256;
  uint32_t vcpus = 1;
  uint16_t agent_port = 5000;  // inside the guest
  // The VM must answer by then, else Acquire fails DeadlineExceeded.
  absl::Time ready_by = absl::InfiniteFuture();
};

// A microVM whose agent answers, owned by one run. Destroying it kills the
// VM (if it still runs) and removes everything it left on the host.
// agent() is used from the run's thread; Exited() and ConsoleTail() from
// any thread.
class Vm {
 public:
  virtual ~Vm() = default;
  virtual AgentClient& agent() = 0;
  virtual Accel accel() const = 0;
  // True once the VM's process has exited (crash, kill, guest power-off).
  virtual bool Exited() const = 0;
  // The last `max_lines` lines of the guest's serial console.
  virtual std::string ConsoleTail(size_t max_lines) const = 0;
  // True when the VM was resumed from a snapshot rather than booted.
  virtual bool resumed() const { return false; }
};

// Where runs get their VMs: one interface so that a warm pool can replace
// booting a fresh VM per run without touching the run lifecycle.
class VmProvider {
 public:
  virtual ~VmProvider() = default;

  // Returns a ready VM for `request`. The VM's processes die with the
  // calling thread (PR_SET_PDEATHSIG): call it from a thread that lives as
  // long as the VM is wanted. Cancelled when `cancel` is while booting
  // (checked at least every CancelToken::kPollInterval); DeadlineExceeded when the agent has not answered by
  // request.ready_by; Unavailable when the VM exited while booting; other
  // errors when it could not be started. On failure `*console_tail` (if
  // not null) gets the end of the guest console, when there was one.
  virtual absl::StatusOr<std::unique_ptr<Vm>> Acquire(
      const VmRequest& request, const CancelToken& cancel,
      std::string* console_tail) = 0;

  // The accelerator new VMs get.
  virtual Accel accel() const = 0;
};

}  // namespace cloudlet::vmm

#endif  // CLOUDLET_VMM_VM_VM_PROVIDER_H_
