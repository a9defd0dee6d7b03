#include "vmm/vm/qemu_vm_provider.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "spdlog/spdlog.h"
#include "vmm/vm/agent_ready.h"
#include "vmm/vm/runtime_state.h"

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
  bool resumed() const override { return snapshot_lease_ != nullptr; }

 private:
  VmStateDir state_dir_;
  std::shared_ptr<const FileLock> snapshot_lease_;  // null when booted
  std::unique_ptr<QemuProcess> qemu_;
  std::unique_ptr<AgentClient> agent_;
};

// How a started VM's agent failed to answer, as Acquire reports it.
absl::Status AgentWaitError(const absl::Status& waited,
                            const QemuProcess& process,
                            const CancelToken& cancel) {
  if (cancel.cancelled()) {
    return absl::CancelledError("cancelled while the VM was booting");
  }
  if (process.Exited()) {
    return absl::UnavailableError(
        "the VM exited before its agent answered (see the console tail)");
  }
  if (waited.code() == absl::StatusCode::kDeadlineExceeded) {
    return absl::DeadlineExceededError(
        "the VM's agent did not answer in time (see the console tail)");
  }
  return absl::Status(waited.code(),
                      absl::StrCat("the VM's agent did not come up: ",
                                   waited.message()));
}

}  // namespace

QemuVmProvider::QemuVmProvider(QemuVmProviderOptions options)
    : options_(std::move(options)) {}

absl::StatusOr<std::unique_ptr<Vm>> QemuVmProvider::Acquire(
    const VmRequest& request, const CancelToken& cancel,
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

  auto into_vm = [&](ReadyQemu ready) -> std::unique_ptr<Vm> {
    return std::make_unique<QemuVm>(
        *std::move(state_dir), std::move(ready.snapshot_lease),
        std::move(ready.qemu), std::move(ready.agent));
  };
  if (options_.snapshots != nullptr) {
    absl::StatusOr<ReadyQemu> resumed =
        Resume(spec, *state_dir, request.ready_by, cancel, console_tail);
    if (resumed.ok()) return into_vm(*std::move(resumed));
    if (cancel.cancelled() || absl::Now() >= request.ready_by) {
      return resumed.status();
    }
    // A snapshot is an optimisation: boot instead.
    spdlog::warn("run={} event=snapshot_unusable error=\"{}\"", spec.name,
                 std::string(resumed.status().message()));
  }
  absl::StatusOr<ReadyQemu> booted =
      Boot(spec, *state_dir, request.ready_by, cancel, console_tail);
  if (!booted.ok()) return booted.status();
  return into_vm(*std::move(booted));
}

absl::StatusOr<QemuVmProvider::ReadyQemu> QemuVmProvider::Resume(
    const VmSpec& spec, VmStateDir& state_dir, absl::Time ready_by,
    const CancelToken& cancel, std::string* console_tail) {
  const absl::Time start = absl::Now();
  absl::StatusOr<VmSnapshot> snapshot =
      options_.snapshots->Ensure(spec, state_dir.path(), ready_by, cancel);
  if (!snapshot.ok()) return snapshot.status();
  // A resumed agent answers in a fraction of a boot (TCG: ~0.3 s against
  // ~1 s). Waiting at most half the time left keeps the other half for
  // booting when it does not.
  const absl::Time now = absl::Now();
  const absl::Time answer_by = now + (ready_by - now) / 2;
  absl::StatusOr<std::unique_ptr<QemuProcess>> qemu =
      VmSnapshots::Resume(spec, *snapshot, state_dir.path(), answer_by);
  if (!qemu.ok()) {
    if (absl::IsDataLoss(qemu.status())) {
      options_.snapshots->Discard(*std::move(snapshot));
    }
    return qemu.status();
  }
  absl::StatusOr<ReadyQemu> ready =
      AwaitAgent(*std::move(qemu), state_dir, /*resumed=*/true, answer_by,
                 cancel, console_tail);
  if (!ready.ok()) {
    // The guest was saved with its agent serving. One that dies or stays
    // silent after its resume would do so on every resume: remake it.
    std::string entry = snapshot->entry;
    if (!cancel.cancelled()) {
      options_.snapshots->Discard(*std::move(snapshot));
    }
    return absl::Status(ready.status().code(),
                        absl::StrCat("resumed from ", entry, ": ",
                                     ready.status().message()));
  }
  spdlog::info("run={} event=vm_resumed snapshot={} ms={}", spec.name,
               snapshot->entry, absl::ToInt64Milliseconds(absl::Now() - start));
  ready->snapshot_lease = snapshot->lease;
  return ready;
}

absl::StatusOr<QemuVmProvider::ReadyQemu> QemuVmProvider::Boot(
    const VmSpec& spec, VmStateDir& state_dir, absl::Time ready_by,
    const CancelToken& cancel, std::string* console_tail) {
  absl::StatusOr<std::unique_ptr<QemuProcess>> qemu =
      QemuProcess::Start(spec, state_dir.path());
  if (!qemu.ok()) {
    return absl::Status(qemu.status().code(),
                        absl::StrCat("cannot start QEMU: ",
                                     qemu.status().message()));
  }
  return AwaitAgent(*std::move(qemu), state_dir, /*resumed=*/false, ready_by,
                    cancel, console_tail);
}

absl::StatusOr<QemuVmProvider::ReadyQemu> QemuVmProvider::AwaitAgent(
    std::unique_ptr<QemuProcess> qemu, VmStateDir& state_dir, bool resumed,
    absl::Time deadline, const CancelToken& cancel,
    std::string* console_tail) {
  if (absl::Status recorded = state_dir.RecordVmProcess(qemu->pid());
      !recorded.ok()) {
    spdlog::warn("run={} event=vm_state_not_recorded error=\"{}\"",
                 qemu->spec().name, std::string(recorded.message()));
  }
  spdlog::debug("run={} event=qemu_started pid={} target={} resumed={}",
                qemu->spec().name, qemu->pid(), qemu->agent_target(), resumed);
  auto agent = std::make_unique<AgentClient>(qemu->agent_target());
  const QemuProcess& process = *qemu;
  const CancelToken give_up = CancelToken::FromProbe(
      [&] { return process.Exited() || cancel.cancelled(); });
  // A resumed guest's agent served before it was saved: no line to wait for.
  absl::Status healthy =
      resumed ? agent->WaitUntilHealthy(deadline, give_up)
              : WaitForGuestAgent(process, *agent, deadline, give_up);
  if (!healthy.ok()) {
    if (console_tail != nullptr) {
      *console_tail = process.ConsoleTail(options_.console_tail_lines);
    }
    return AgentWaitError(healthy, process, cancel);
  }
  return ReadyQemu{std::move(qemu), std::move(agent), nullptr};
}

}  // namespace cloudlet::vmm
