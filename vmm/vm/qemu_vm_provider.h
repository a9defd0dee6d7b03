#ifndef CLOUDLET_VMM_VM_QEMU_VM_PROVIDER_H_
#define CLOUDLET_VMM_VM_QEMU_VM_PROVIDER_H_

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "vmm/qemu/qemu_process.h"
#include "vmm/vm/runtime_state.h"
#include "vmm/vm/vm_provider.h"
#include "vmm/vm/vm_snapshots.h"
#include "common/run_limits.h"

namespace cloudlet::vmm {

struct QemuVmProviderOptions {
  Accel accel = Accel::kTcg;
  // Each VM keeps its state in <runtime_dir>/vm-<run id> (see
  // runtime_state.h); the directory must exist.
  std::filesystem::path runtime_dir;
  std::string guest_log_level = "info";
  uint32_t tcg_tb_size_mib = 0;  // 0: QEMU's default
  size_t console_tail_lines = kConsoleTailLines;
  // When set, VMs are resumed from a snapshot of their shape (made on
  // first use) instead of booted; a VM is booted when that fails, also
  // when the resumed VM's agent dies or does not answer.
  std::shared_ptr<VmSnapshots> snapshots;
};

// A fresh QEMU microVM for every Acquire: resumed from a snapshot or
// booted. Thread-safe.
class QemuVmProvider : public VmProvider {
 public:
  explicit QemuVmProvider(QemuVmProviderOptions options);

  absl::StatusOr<std::unique_ptr<Vm>> Acquire(
      const VmRequest& request, const CancelToken& cancel,
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
                                   const CancelToken& cancel,
                                   std::string* console_tail);
  absl::StatusOr<ReadyQemu> Boot(const VmSpec& spec, VmStateDir& state_dir,
                                 absl::Time ready_by,
                                 const CancelToken& cancel,
                                 std::string* console_tail);
  // Records `qemu` in `state_dir` and waits until its agent answers; on
  // failure `qemu` is killed and `*console_tail` gets its console's end.
  absl::StatusOr<ReadyQemu> AwaitAgent(std::unique_ptr<QemuProcess> qemu,
                                       VmStateDir& state_dir, bool resumed,
                                       absl::Time deadline,
                                       const CancelToken& cancel,
                                       std::string* console_tail);

  const QemuVmProviderOptions options_;
};

}  // namespace cloudlet::vmm

#endif  // CLOUDLET_VMM_VM_QEMU_VM_PROVIDER_H_
