#ifndef CLOUDLET_VMM_VM_HOST_AGENT_PROVIDER_H_
#define CLOUDLET_VMM_VM_HOST_AGENT_PROVIDER_H_

#include <sys/types.h>

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "vmm/artifacts/artifact_cache.h"
#include "vmm/artifacts/debian_archive.h"
#include "vmm/vm/vm_provider.h"

namespace cloudlet::vmm {

struct HostAgentProviderOptions {
  // A cloudlet-agent that runs on this host (the static guest one does).
  std::filesystem::path agent_binary;
  // Each "VM" keeps its state in <runtime_dir>/vm-<run id> (see
  // runtime_state.h), so that a VMM started later kills an agent this one
  // left behind; the directory must exist.
  std::filesystem::path runtime_dir;
  std::string log_level = "warn";
};

// The test seam in place of QEMU: each "VM" is a cloudlet-agent process on
// this host, serving on a free loopback port, with its own work dir. It
// runs the real agent, so runs stream, time out, are cancelled and fail
// as with a VM, in milliseconds instead of seconds and with no guest
// artifacts; killing the agent process is a VM dying. It isolates
// nothing: cloudlet-vmm uses it only when asked (--vm_provider=host_agent),
// for tests and benches. Thread-safe.
class HostAgentProvider : public VmProvider {
 public:
  explicit HostAgentProvider(HostAgentProviderOptions options);

  // As VmProvider::Acquire; request.artifacts is ignored.
  absl::StatusOr<std::unique_ptr<Vm>> Acquire(
      const VmRequest& request, const CancelToken& cancel,
      std::string* console_tail) override;
  Accel accel() const override { return Accel::kHost; }

  // The pids of the agents started so far, oldest first (tests kill one
  // to see a VM die).
  std::vector<pid_t> agent_pids() const;

 private:
  const HostAgentProviderOptions options_;
  mutable absl::Mutex mu_;
  std::vector<pid_t> agent_pids_ ABSL_GUARDED_BY(mu_);
};

// The artifacts of host-agent "VMs": none. Ensure reports one cached step
// and returns empty paths with `runtime_key` (which should name the agent
// binary's content, so that builds cached by one agent are not run by
// another); nothing is built or listed.
class NoGuestArtifacts : public ArtifactCache {
 public:
  explicit NoGuestArtifacts(std::string runtime_key)
      : runtime_key_(std::move(runtime_key)) {}

  // FailedPrecondition for a runtime with packages: a host agent runs in
  // the host's own system, which this VMM does not change.
  absl::StatusOr<GuestArtifacts> Ensure(const Runtime& runtime,
                                        const ProgressCallback& progress,
                                        const CancelToken& cancel) override;
  // As a VM's: the packages must be in the Debian archive.
  absl::Status CheckPackages(
      const std::vector<std::string>& packages) override {
    return archive_.CheckExist(packages);
  }
  // FailedPrecondition: there are none to build.
  absl::StatusOr<std::filesystem::path> EnsureArtifact(
      absl::string_view name, const ProgressCallback& progress,
      const CancelToken& cancel) override;
  std::vector<v1::ArtifactState> List() const override { return {}; }
  std::map<std::string, std::optional<std::string>> CurrentEntries()
      const override {
    return {};
  }
  const std::shared_ptr<CacheStore>& store() const override { return none_; }

 private:
  const std::string runtime_key_;
  DebianArchive archive_;
  const std::shared_ptr<CacheStore> none_;
};

}  // namespace cloudlet::vmm

#endif  // CLOUDLET_VMM_VM_HOST_AGENT_PROVIDER_H_
