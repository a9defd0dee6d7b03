#include "vmm/vm_provider.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "spdlog/spdlog.h"
#include "vmm/agent_ready.h"
#include "vmm/runtime_state.h"

namespace cloudlet::vmm {
namespace {

// A QEMU microVM, its agent client, and its state dir; destroyed in the
// reverse order: client, then QEMU (killed and reaped), then the dir.
class QemuVm : public Vm {
 public:
  QemuVm(VmStateDir state_dir, std::shared_ptr<const FileLock> snapshot_lease,
         std::unique_ptr<QemuProcess> qemu,
         std::unique_ptr<AgentClient> agent)
      : state_dir_(std::move(state_dir)),
        snapshot_lease_(std::move(snapshot_lease)),
        qemu_(std::move(qemu)),
        agent_(std::move(agent)) {}

  AgentClient& agent() override { return *agent_; }
  Accel accel() const override { return qemu_->spec().accel; }
  bool Exited() const override { return qemu_->Exited(); }
  std::string ConsoleTail(size_t max_lines) const override {
    return qemu_->ConsoleTail(max_lines);
  }

 private:
  VmStateDir state_dir_;
  std::shared_ptr<const FileLock> snapshot_lease_;  // null when booted
  std::unique_ptr<QemuProcess> qemu_;
  std::unique_ptr<AgentClient> agent_;
};

}  // namespace

FreshVmProvider::FreshVmProvider(FreshVmProviderOptions options)
    : options_(std::move(options)) {}

absl::StatusOr<std::unique_ptr<Vm>> FreshVmProvider::Acquire(
    const VmRequest& request, const std::function<bool()>& cancelled,
    std::string* console_tail) {
  absl::StatusOr<VmStateDir> state_dir =
      VmStateDir::Create(options_.runtime_dir, request.run_id);
  if (!state_dir.ok()) return state_dir.status();

  VmSpec spec;
  spec.kernel = request.artifacts.kernel;
  spec.initramfs = request.artifacts.initramfs;
  spec.image = request.artifacts.image;
  spec.memory_mib = request.memory_mib;
  spec.vcpus = request.vcpus;
  spec.accel = options_.accel;
  spec.guest_port = request.agent_port;
  spec.log_level = options_.guest_log_level;
  spec.tcg_tb_size_mib = options_.tcg_tb_size_mib;
  spec.name = request.run_id;
  std::shared_ptr<const FileLock> snapshot_lease;
  absl::StatusOr<std::unique_ptr<QemuProcess>> qemu = StartQemu(
      spec, state_dir->path(), request.ready_by, cancelled, &snapshot_lease);
  if (!qemu.ok()) {
    return absl::Status(qemu.status().code(),
                        absl::StrCat("cannot start QEMU: ",
                                     qemu.status().message()));
  }
  if (absl::Status recorded = state_dir->RecordQemu((*qemu)->pid());
      !recorded.ok()) {
    spdlog::warn("run={} event=vm_state_not_recorded error=\"{}\"",
                 request.run_id, std::string(recorded.message()));
  }
  spdlog::debug("run={} event=qemu_started pid={} target={}", request.run_id,
                (*qemu)->pid(), (*qemu)->agent_target());

  auto agent = std::make_unique<AgentClient>((*qemu)->agent_target());
  QemuProcess& process = **qemu;
  auto still_worth_waiting = [&] {
    return !process.Exited() && !(cancelled && cancelled());
  };
  // A resumed guest's agent served before it was saved: no line to wait for.
  absl::Status healthy =
      snapshot_lease != nullptr
          ? agent->WaitUntilHealthy(request.ready_by, still_worth_waiting)
          : WaitForGuestAgent(process, *agent, request.ready_by,
                              still_worth_waiting);
  if (!healthy.ok()) {
    if (console_tail != nullptr) {
      *console_tail = process.ConsoleTail(options_.console_tail_lines);
    }
    if (cancelled && cancelled()) {
      return absl::CancelledError("cancelled while the VM was booting");
    }
    if (process.Exited()) {
      return absl::UnavailableError(
          "the VM exited before its agent answered (see the console tail)");
    }
    if (healthy.code() == absl::StatusCode::kDeadlineExceeded) {
      return absl::DeadlineExceededError(
          "the VM's agent did not answer in time (see the console tail)");
    }
    return absl::Status(healthy.code(),
                        absl::StrCat("the VM's agent did not come up: ",
                                     healthy.message()));
  }
  return std::make_unique<QemuVm>(*std::move(state_dir),
                                  std::move(snapshot_lease), *std::move(qemu),
                                  std::move(agent));
}

absl::StatusOr<std::unique_ptr<QemuProcess>> FreshVmProvider::StartQemu(
    const VmSpec& spec, const std::filesystem::path& dir, absl::Time deadline,
    const std::function<bool()>& cancelled,
    std::shared_ptr<const FileLock>* snapshot_lease) {
  if (options_.snapshots != nullptr) {
    absl::Time start = absl::Now();
    absl::StatusOr<VmSnapshot> snapshot =
        options_.snapshots->Ensure(spec, dir, deadline, cancelled);
    absl::StatusOr<std::unique_ptr<QemuProcess>> resumed =
        snapshot.ok() ? VmSnapshots::Resume(spec, *snapshot, dir, deadline)
                      : snapshot.status();
    if (resumed.ok()) {
      spdlog::info("run={} event=vm_resumed snapshot={} ms={}", spec.name,
                   snapshot->entry,
                   absl::ToInt64Milliseconds(absl::Now() - start));
      *snapshot_lease = snapshot->lease;
      return resumed;
    }
    if (absl::IsDataLoss(resumed.status())) {
      options_.snapshots->Discard(*std::move(snapshot));
    }
    if (absl::IsCancelled(resumed.status()) || absl::Now() >= deadline) {
      return resumed;
    }
    // A snapshot is an optimisation: boot instead.
    spdlog::warn("run={} event=snapshot_unusable error=\"{}\"", spec.name,
                 std::string(resumed.status().message()));
  }
  return QemuProcess::Start(spec, dir);
}

}  // namespace cloudlet::vmm
