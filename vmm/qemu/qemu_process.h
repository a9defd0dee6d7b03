#ifndef CLOUDLET_VMM_QEMU_QEMU_PROCESS_H_
#define CLOUDLET_VMM_QEMU_QEMU_PROCESS_H_

#include <cstddef>
#include <filesystem>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "vmm/qemu/qemu_command.h"

namespace cloudlet::vmm {

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

#endif  // CLOUDLET_VMM_QEMU_QEMU_PROCESS_H_
