#ifndef CLOUDLET_VMM_QEMU_H_
#define CLOUDLET_VMM_QEMU_H_

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace cloudlet::vmm {

enum class Accel { kKvm, kTcg };

// "kvm" / "tcg".
const char* AccelName(Accel accel);

// KVM when /dev/kvm can be opened read-write by this process, else TCG.
Accel DetectAccel();

// How a VM's memory relates to a saved snapshot (vmm/vm_snapshots.h).
enum class SnapshotRole {
  // Anonymous RAM, booted; free page reporting hands freed pages back.
  kNone,
  // Booted with its RAM in <snapshot_dir>/ram, mapped shared, so that the
  // file holds the guest's memory once QEMU stops it; QMP on qmp.sock.
  kSource,
  // RAM mapped copy-on-write from <snapshot_dir>/ram (pages are read on
  // first touch and shared through the page cache); waits for the device
  // state over QMP (-incoming defer) instead of booting.
  kResume,
};

// Everything that decides a QEMU command line.
struct VmSpec {
  std::filesystem::path kernel;
  std::filesystem::path initramfs;
  std::filesystem::path image;  // attached read-only as virtio-blk; optional
  uint32_t memory_mib = 256;
  uint32_t vcpus = 1;
  Accel accel = Accel::kTcg;
  uint16_t host_port = 0;       // loopback port forwarded to the agent
  uint16_t guest_port = 5000;   // the agent's port inside the guest
  std::string log_level = "info";
  // TCG translation cache size; 0: QEMU's default (which costs host RSS:
  // see bench/boot).
  uint32_t tcg_tb_size_mib = 0;
  std::string extra_cmdline;     // appended to the kernel command line
  std::string name;              // for logs, e.g. the run id; optional
  SnapshotRole snapshot_role = SnapshotRole::kNone;
  std::filesystem::path snapshot_dir;  // absolute; unless kNone
};

// The QMP socket of a VM whose snapshot_role is not kNone, relative to the
// VM's directory (QEMU's working directory): see QemuProcess::dir().
inline constexpr char kQmpSocketName[] = "qmp.sock";

// The guest kernel's command line for `spec` (console, reboot-on-halt,
// cloudlet.port, cloudlet.log, timer set-up, extra_cmdline). Pure.
std::string KernelCommandLine(const VmSpec& spec);

// The QEMU argv for `spec`, argv[0] = "qemu-system-x86_64". Pure.
std::vector<std::string> QemuCommand(const VmSpec& spec);

// A running QEMU microVM. Owns the process (own process group,
// PR_SET_PDEATHSIG), its console buffer and its runtime files; the
// destructor kills and reaps QEMU and removes them. Thread-safe for the
// const accessors and Kill; Start/destructor from one thread.
//
// PR_SET_PDEATHSIG ties QEMU's life to the thread that calls Start: start it
// from a thread that outlives the VM (e.g. the run's own thread).
class QemuProcess {
 public:
  // Starts QEMU for `spec` and returns once QEMU listens on the forwarded
  // host port (the guest may still be booting: see
  // AgentClient::WaitUntilHealthy). Chooses a free loopback host port,
  // retrying with another one when QEMU cannot bind it, unless
  // spec.host_port is set. The VM's files live in a fresh directory under
  // `runtime_dir` ($TMPDIR when empty), removed on destruction.
  // FailedPrecondition when the kernel, initramfs or image is not a file;
  // NotFound when qemu-system-x86_64 is missing; Internal with QEMU's
  // output when it exits at start.
  static absl::StatusOr<std::unique_ptr<QemuProcess>> Start(
      VmSpec spec, const std::filesystem::path& runtime_dir);
  virtual ~QemuProcess() = default;

  // "127.0.0.1:PORT", the agent's gRPC address from the host.
  virtual std::string agent_target() const = 0;
  // The spec it runs with, host_port filled in.
  virtual const VmSpec& spec() const = 0;
  virtual int pid() const = 0;
  // The VM's own directory (QEMU's working directory), removed with it.
  virtual const std::filesystem::path& dir() const = 0;
  // Readable (POLLIN) once QEMU has exited; valid for the object's life.
  virtual int pidfd() const = 0;
  virtual bool Exited() const = 0;
  // The last `max_lines` lines of the guest's serial console and of QEMU's
  // own messages, interleaved as they arrived (bounded: older output is
  // dropped).
  virtual std::string ConsoleTail(size_t max_lines) const = 0;
  // Blocks until the console shows `text` (Ok), QEMU's output ended
  // without it (Unavailable), or `deadline` passes (DeadlineExceeded).
  virtual absl::Status AwaitConsoleText(absl::string_view text,
                                        absl::Time deadline) const = 0;
  // Kills QEMU now (idempotent); the destructor does it too.
  virtual void Kill() = 0;
};

}  // namespace cloudlet::vmm

#endif  // CLOUDLET_VMM_QEMU_H_
