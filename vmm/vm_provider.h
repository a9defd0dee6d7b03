#ifndef CLOUDLET_VMM_VM_PROVIDER_H_
#define CLOUDLET_VMM_VM_PROVIDER_H_

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "vmm/agent_client.h"
#include "vmm/artifacts.h"
#include "vmm/file_lock.h"
#include "vmm/qemu.h"
#include "vmm/runtime_state.h"
#include "vmm/vm_snapshots.h"

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
};

// Where runs get their VMs: one interface so that a warm pool can replace
// booting a fresh VM per run without touching the run lifecycle.
class VmProvider {
 public:
  virtual ~VmProvider() = default;

  // Returns a ready VM for `request`. The VM's processes die with the
  // calling thread (PR_SET_PDEATHSIG): call it from a thread that lives as
  // long as the VM is wanted. Cancelled when `cancelled` turns true while
  // booting (polled); DeadlineExceeded when the agent has not answered by
  // request.ready_by; Unavailable when the VM exited while booting; other
  // errors when it could not be started. On failure `*console_tail` (if
  // not null) gets the end of the guest console, when there was one.
  virtual absl::StatusOr<std::unique_ptr<Vm>> Acquire(
      const VmRequest& request, const std::function<bool()>& cancelled,
      std::string* console_tail) = 0;

  // The accelerator new VMs get.
  virtual Accel accel() const = 0;
};

struct FreshVmProviderOptions {
  Accel accel = Accel::kTcg;
  // Each VM keeps its state in <runtime_dir>/vm-<run id> (see
  // runtime_state.h); the directory must exist.
  std::filesystem::path runtime_dir;
  std::string guest_log_level = "info";
  uint32_t tcg_tb_size_mib = 0;  // 0: QEMU's default
  size_t console_tail_lines = 40;
  // When set, VMs are resumed from a snapshot of their shape (made on
  // first use) instead of booted; a VM is booted when that fails, also
  // when the resumed VM's agent dies or does not answer.
  std::shared_ptr<VmSnapshots> snapshots;
};

// A fresh QEMU microVM for every Acquire: resumed from a snapshot or
// booted. Thread-safe.
class FreshVmProvider : public VmProvider {
 public:
  explicit FreshVmProvider(FreshVmProviderOptions options);

  absl::StatusOr<std::unique_ptr<Vm>> Acquire(
      const VmRequest& request, const std::function<bool()>& cancelled,
      std::string* console_tail) override;
  Accel accel() const override { return options_.accel; }

 private:
  // A started QEMU whose agent answers.
  struct ReadyQemu {
    std::unique_ptr<QemuProcess> qemu;
    std::unique_ptr<AgentClient> agent;
    std::shared_ptr<const FileLock> snapshot_lease;  // null when booted
  };

  // Resumes a VM from the snapshot of its shape (made first when missing).
  // The agent gets half the time left to answer; when it dies or does not
  // answer, or the snapshot does not load, the snapshot is discarded.
  absl::StatusOr<ReadyQemu> Resume(const VmSpec& spec, VmStateDir& state_dir,
                                   absl::Time ready_by,
                                   const std::function<bool()>& cancelled,
                                   std::string* console_tail);
  absl::StatusOr<ReadyQemu> Boot(const VmSpec& spec, VmStateDir& state_dir,
                                 absl::Time ready_by,
                                 const std::function<bool()>& cancelled,
                                 std::string* console_tail);
  // Records `qemu` in `state_dir` and waits until its agent answers; on
  // failure `qemu` is killed and `*console_tail` gets its console's end.
  absl::StatusOr<ReadyQemu> AwaitAgent(std::unique_ptr<QemuProcess> qemu,
                                       VmStateDir& state_dir, bool resumed,
                                       absl::Time deadline,
                                       const std::function<bool()>& cancelled,
                                       std::string* console_tail);

  const FreshVmProviderOptions options_;
};

}  // namespace cloudlet::vmm

#endif  // CLOUDLET_VMM_VM_PROVIDER_H_
